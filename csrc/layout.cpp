// Layout kernels: strided copies (transpose, slicing, broadcast materialization, concatenation,
// padding all reduce to them), and gathers/scatters along an axis (take, take_along_axis and
// their gradients). They move bytes and never look at values, so one instantiation per element
// size serves every dtype.
#include <array>

#include <nanobind/stl/vector.h>

#include "common.h"

namespace layerkit::core {
namespace {

template <size_t S>
struct Elem { unsigned char b[S]; };

// dst[idx] = src[idx] for every index of the shared shape; both strides in elements.
template <size_t S>
void strided_copy(char* dst, const int64_t* dst_st, const char* src, const int64_t* src_st,
                  const std::vector<size_t>& shape) {
  using E = Elem<S>;
  const size_t nd = shape.size();
  if (nd == 0) { *(E*)dst = *(const E*)src; return; }
  const int64_t n = shape[nd - 1];
  const int64_t rows = (int64_t)(numel(shape) / std::max<size_t>(n, 1));
  if (n == 0) return;
#pragma omp parallel for schedule(static) if (rows * n > kParallelGrain && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t od = 0, os = 0, rem = r;
    for (size_t d = nd - 1; d-- > 0;) {
      int64_t i = rem % (int64_t)shape[d];
      rem /= (int64_t)shape[d];
      od += i * dst_st[d];
      os += i * src_st[d];
    }
    E* dp = (E*)dst + od;
    const E* sp = (const E*)src + os;
    const int64_t ds = dst_st[nd - 1], ss = src_st[nd - 1];
    if (ds == 1 && ss == 1) std::memcpy(dp, sp, n * S);
    else for (int64_t i = 0; i < n; ++i) dp[i * ds] = sp[i * ss];
  }
}

void copy_dispatch(size_t item, char* dst, const int64_t* ds, const char* src, const int64_t* ss,
                   const std::vector<size_t>& shape) {
  switch (item) {
    case 1: strided_copy<1>(dst, ds, src, ss, shape); break;
    case 2: strided_copy<2>(dst, ds, src, ss, shape); break;
    case 4: strided_copy<4>(dst, ds, src, ss, shape); break;
    case 8: strided_copy<8>(dst, ds, src, ss, shape); break;
    default: throw nb::type_error("copy: unsupported element size");
  }
}

// A C-contiguous copy of any strided view (transpose, slice, broadcast_to).
nb::object copy_kernel(AnyArray x) {
  dtype_of(x.dtype(), "copy");
  const size_t item = x.itemsize();
  auto shape = shape_of(x);
  std::vector<int64_t> st(x.ndim()), dst(x.ndim());
  int64_t acc = 1;
  for (size_t d = x.ndim(); d-- > 0;) { st[d] = x.stride(d); dst[d] = acc; acc *= (int64_t)shape[d]; }
  void* out_data;
  nb::object out = new_array_of(shape, x.dtype().num, &out_data);
  char* buf = static_cast<char*>(out_data);
  {
    nb::gil_scoped_release nogil;
    copy_dispatch(item, buf, dst.data(), static_cast<const char*>(x.data()), st.data(), shape);
  }
  return out;
}

// A C-contiguous copy of x broadcast to `shape` (NumPy rules: x's axes align to the right).
nb::object broadcast_to_kernel(AnyArray x, std::vector<size_t> shape) {
  dtype_of(x.dtype(), "broadcast_to");
  const size_t nd = shape.size(), xd = x.ndim();
  if (xd > nd) throw nb::value_error("broadcast_to: the target shape has fewer axes than the input");
  std::vector<int64_t> st(nd, 0), dst(nd);
  for (size_t i = 0; i < xd; ++i) {
    size_t d = nd - xd + i;
    if (x.shape(i) == shape[d]) st[d] = x.stride(i);
    else if (x.shape(i) != 1)
      throw nb::value_error(("broadcast_to: input axis " + std::to_string(i) + " has size " + std::to_string(x.shape(i)) +
                             ", which cannot be broadcast to " + std::to_string(shape[d])).c_str());
  }
  int64_t acc = 1;
  for (size_t d = nd; d-- > 0;) { dst[d] = acc; acc *= (int64_t)shape[d]; }
  void* out_data;
  nb::object out = new_array_of(shape, x.dtype().num, &out_data);
  {
    NoGil nogil(numel(shape));
    copy_dispatch(x.itemsize(), static_cast<char*>(out_data), dst.data(), static_cast<const char*>(x.data()), st.data(),
                  shape);
  }
  return out;
}

// dst[...] = src[...] elementwise over a shared shape; dst may be any writable strided view.
void assign_kernel(MutArray dst, AnyArray src) {
  if (dst.ndim() != src.ndim()) throw nb::value_error("assign: dst and src must have the same rank");
  for (size_t d = 0; d < dst.ndim(); ++d)
    if (dst.shape(d) != src.shape(d)) throw nb::value_error("assign: dst and src must have the same shape");
  if (!(dst.dtype() == src.dtype())) throw nb::type_error("assign: dst and src must have the same dtype");
  dtype_of(dst.dtype(), "assign");
  auto shape = shape_of(dst);
  std::vector<int64_t> ds(dst.ndim()), ss(dst.ndim());
  for (size_t d = 0; d < dst.ndim(); ++d) { ds[d] = dst.stride(d); ss[d] = src.stride(d); }
  nb::gil_scoped_release nogil;
  copy_dispatch(dst.itemsize(), static_cast<char*>(dst.data()), ds.data(), static_cast<const char*>(src.data()),
                ss.data(), shape);
}

// Indices as int64 in [0, n), negative ones wrapped; raised with the GIL held.
std::vector<int64_t> checked_indices(const char* name, const Array& idx, int64_t n) {
  DType dt = dtype_of(idx.dtype(), name);
  if (dt != DType::I32 && dt != DType::I64) throw nb::type_error((std::string(name) + ": indices must be int32 or int64").c_str());
  std::vector<int64_t> out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    int64_t v = dt == DType::I32 ? static_cast<const int32_t*>(idx.data())[i] : static_cast<const int64_t*>(idx.data())[i];
    if (v < -n || v >= n)
      throw nb::value_error((std::string(name) + ": index " + std::to_string(v) + " is out of bounds for an axis of size " +
                             std::to_string(n)).c_str());
    out[i] = v < 0 ? v + n : v;
  }
  return out;
}

// y[o, j, i] = x[o, idx[j], i] (take), or y[o, j, i] = x[o, idx[o, j, i], i] (along=true).
template <size_t S>
void gather_loop(const char* x, char* y, const std::vector<int64_t>& idx, int64_t outer, int64_t n, int64_t m,
                 int64_t inner, bool along) {
  using E = Elem<S>;
  const E* xs = (const E*)x;
  E* ys = (E*)y;
#pragma omp parallel for collapse(2) schedule(static) if (outer * m * inner > kParallelGrain)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < m; ++j) {
      E* yr = ys + (o * m + j) * inner;
      if (!along) {
        std::memcpy(yr, xs + (o * n + idx[j]) * inner, inner * S);
      } else {
        const int64_t* ir = idx.data() + (o * m + j) * inner;
        for (int64_t i = 0; i < inner; ++i) yr[i] = xs[(o * n + ir[i]) * inner + i];
      }
    }
}

nb::object gather_kernel(Array x, Array idx, int64_t outer, int64_t n, int64_t inner, bool along) {
  const char* name = along ? "take_along_axis" : "take";
  if ((size_t)(outer * n * inner) != x.size()) throw nb::value_error((std::string(name) + ": bad (outer, n, inner)").c_str());
  auto ix = checked_indices(name, idx, n);
  const int64_t m = along ? (outer * inner ? (int64_t)ix.size() / (outer * inner) : 0) : (int64_t)ix.size();
  if (along && (size_t)(outer * m * inner) != ix.size()) throw nb::value_error("take_along_axis: indices do not match (outer, m, inner)");
  dtype_of(x.dtype(), name);
  const size_t item = x.itemsize();
  void* out_data;
  nb::object out = new_array_of({(size_t)outer, (size_t)m, (size_t)inner}, x.dtype().num, &out_data);
  char* buf = static_cast<char*>(out_data);
  {
    nb::gil_scoped_release nogil;
    const char* xp = static_cast<const char*>(x.data());
    switch (item) {
      case 1: gather_loop<1>(xp, buf, ix, outer, n, m, inner, along); break;
      case 4: gather_loop<4>(xp, buf, ix, outer, n, m, inner, along); break;
      case 8: gather_loop<8>(xp, buf, ix, outer, n, m, inner, along); break;
    }
  }
  return out;
}

template <class T>
void scatter_loop(const T* gp, T* y, const std::vector<int64_t>& ix, int64_t outer, int64_t n, int64_t m,
                  int64_t inner, bool along) {
  std::fill(y, y + outer * n * inner, T(0));
  // parallel over `outer` only: two j may hit the same row
#pragma omp parallel for schedule(static) if (outer * m * inner > kParallelGrain && outer > 1)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < m; ++j) {
      const T* gr = gp + (o * m + j) * inner;
      if (!along) {
        T* yr = y + (o * n + ix[j]) * inner;
        for (int64_t i = 0; i < inner; ++i) yr[i] += gr[i];
      } else {
        const int64_t* ir = ix.data() + (o * m + j) * inner;
        for (int64_t i = 0; i < inner; ++i) y[(o * n + ir[i]) * inner + i] += gr[i];
      }
    }
}

// The adjoint of gather: y (outer, n, inner) zeros, then y[o, idx, i] += g[o, j, i].
nb::object scatter_add_kernel(Array g, Array idx, int64_t outer, int64_t n, int64_t inner, bool along) {
  const char* name = along ? "scatter_add_along_axis" : "scatter_add";
  auto ix = checked_indices(name, idx, n);
  const int64_t m = along ? (outer * inner ? (int64_t)ix.size() / (outer * inner) : 0) : (int64_t)ix.size();
  if ((size_t)(outer * m * inner) != g.size()) throw nb::value_error((std::string(name) + ": g does not match indices").c_str());
  LK_DISPATCH_NUMERIC(dtype_of(g.dtype(), name), name, {
    T* y;
    auto out = new_array<T>({(size_t)outer, (size_t)n, (size_t)inner}, &y);
    {
      nb::gil_scoped_release nogil;
      scatter_loop<T>(static_cast<const T*>(g.data()), y, ix, outer, n, m, inner, along);
    }
    return out;
  });
  return nb::none();
}

}  // namespace

void bind_layout(nb::module_& m) {
  def_kernel(m, "copy", &copy_kernel, nb::arg("x"));
  def_kernel(m, "broadcast_to", &broadcast_to_kernel, nb::arg("x"), nb::arg("shape"));
  def_kernel(m, "assign", &assign_kernel, nb::arg("dst").noconvert(), nb::arg("src"));
  def_kernel(m, "gather", &gather_kernel, nb::arg("x"), nb::arg("indices"), nb::arg("outer"), nb::arg("n"),
             nb::arg("inner"), nb::arg("along") = false);
  def_kernel(m, "scatter_add", &scatter_add_kernel, nb::arg("g"), nb::arg("indices"), nb::arg("outer"), nb::arg("n"),
             nb::arg("inner"), nb::arg("along") = false);
}

}  // namespace layerkit::core
