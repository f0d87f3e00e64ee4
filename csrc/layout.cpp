// Layout kernels: strided copies (transpose, slicing, broadcast materialization, concatenation,
// padding all reduce to them), and gathers/scatters along an axis (take, take_along_axis and
// their gradients). They move bytes and never look at values, so one instantiation per element
// size serves every dtype.
#include <array>

#include <nanobind/stl/vector.h>

#include "common.h"
#include "executor.h"

namespace layerkit::core {
namespace {

template <size_t S>
struct Elem { unsigned char b[S]; };

// Calls row(dst_offset, src_offset, n) for every row (last axis) of `shape`, offsets in elements
// along the strides; rows run in parallel when there is enough work.
template <class Row>
void for_rows(const std::vector<size_t>& shape, const int64_t* dst_st, const int64_t* src_st, Row row) {
  const size_t nd = shape.size();
  if (nd == 0) return row(0, 0, 1);
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
    row(od, os, n);
  }
}

// dst[idx] = src[idx] for every index of the shared shape; both strides in elements.
template <size_t S>
void strided_copy(char* dst, const int64_t* dst_st, const char* src, const int64_t* src_st,
                  const std::vector<size_t>& shape) {
  using E = Elem<S>;
  const int64_t ds = shape.empty() ? 1 : dst_st[shape.size() - 1], ss = shape.empty() ? 1 : src_st[shape.size() - 1];
  for_rows(shape, dst_st, src_st, [&](int64_t od, int64_t os, int64_t n) {
    E* dp = (E*)dst + od;
    const E* sp = (const E*)src + os;
    if (ds == 1 && ss == 1) std::memcpy(dp, sp, n * S);
    else for (int64_t i = 0; i < n; ++i) dp[i * ds] = sp[i * ss];
  });
}

// Element strides of a C-contiguous array of `shape`.
template <class Shape>
std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> st(shape.size());
  int64_t acc = 1;
  for (size_t d = shape.size(); d-- > 0;) { st[d] = acc; acc *= (int64_t)shape[d]; }
  return st;
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
  std::vector<int64_t> st(x.ndim()), dst = contiguous_strides(shape);
  for (size_t d = 0; d < x.ndim(); ++d) st[d] = x.stride(d);
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
  std::vector<int64_t> st(nd, 0), dst = contiguous_strides(shape);
  for (size_t i = 0; i < xd; ++i) {
    size_t d = nd - xd + i;
    if (x.shape(i) == shape[d]) st[d] = x.stride(i);
    else if (x.shape(i) != 1)
      throw nb::value_error(("broadcast_to: input axis " + std::to_string(i) + " has size " + std::to_string(x.shape(i)) +
                             ", which cannot be broadcast to " + std::to_string(shape[d])).c_str());
  }
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
// Indices as int64 in [0, n) (negative ones count from the end); out of range is a ValueError.
std::vector<int64_t> checked_indices(const char* name, DType dt, const void* data, size_t size, int64_t n) {
  if (dt != DType::I32 && dt != DType::I64) throw nb::type_error((std::string(name) + ": indices must be int32 or int64").c_str());
  std::vector<int64_t> out(size);
  for (size_t i = 0; i < size; ++i) {
    int64_t v = dt == DType::I32 ? static_cast<const int32_t*>(data)[i] : static_cast<const int64_t*>(data)[i];
    if (v < -n || v >= n)
      throw nb::value_error((std::string(name) + ": index " + std::to_string(v) + " is out of bounds for an axis of size " +
                             std::to_string(n)).c_str());
    out[i] = v < 0 ? v + n : v;
  }
  return out;
}

std::vector<int64_t> checked_indices(const char* name, const Array& idx, int64_t n) {
  return checked_indices(name, dtype_of(idx.dtype(), name), idx.data(), idx.size(), n);
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

void gather_dispatch(size_t item, const char* xp, char* buf, const std::vector<int64_t>& ix, int64_t outer, int64_t n,
                     int64_t m, int64_t inner, bool along) {
  switch (item) {
    case 1: gather_loop<1>(xp, buf, ix, outer, n, m, inner, along); break;
    case 4: gather_loop<4>(xp, buf, ix, outer, n, m, inner, along); break;
    case 8: gather_loop<8>(xp, buf, ix, outer, n, m, inner, along); break;
  }
}

nb::object gather_kernel(Array x, Array idx, int64_t outer, int64_t n, int64_t inner, bool along) {
  const char* name = along ? "take_along_axis" : "take";
  if ((size_t)(outer * n * inner) != x.size()) throw nb::value_error((std::string(name) + ": bad (outer, n, inner)").c_str());
  auto ix = checked_indices(name, idx, n);
  const int64_t m = along ? (outer * inner != 0 ? (int64_t)ix.size() / (outer * inner) : 0) : (int64_t)ix.size();
  if (along && (size_t)(outer * m * inner) != ix.size()) throw nb::value_error("take_along_axis: indices do not match (outer, m, inner)");
  dtype_of(x.dtype(), name);
  const size_t item = x.itemsize();
  void* out_data;
  nb::object out = new_array_of({(size_t)outer, (size_t)m, (size_t)inner}, x.dtype().num, &out_data);
  char* buf = static_cast<char*>(out_data);
  {
    nb::gil_scoped_release nogil;
    gather_dispatch(item, static_cast<const char*>(x.data()), buf, ix, outer, n, m, inner, along);
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
  const int64_t m = along ? (outer * inner != 0 ? (int64_t)ix.size() / (outer * inner) : 0) : (int64_t)ix.size();
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


// ---- native steps ----------------------------------------------------------------------------
// Element offsets reachable from `offset` with `strides` over `shape` must lie in [0, size).
void check_window(const StepSpec& s, int64_t offset, const std::vector<int64_t>& strides,
                  const std::vector<int64_t>& shape, size_t size) {
  int64_t lo = offset, hi = offset, n = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    n *= shape[d];
    if (shape[d] == 0) continue;
    (strides[d] < 0 ? lo : hi) += (shape[d] - 1) * strides[d];
  }
  if (n > 0 && (lo < 0 || hi >= (int64_t)size))
    throw nb::value_error((s.kernel + ": a strided window reaches outside its buffer").c_str());
}

// out = x viewed at `offset` with `strides` (elements; any sign, 0 broadcasts) over out's shape:
// transpose, broadcast_to and basic slicing are all this one copy. ints: [offset, strides...];
// inputs after the first (a shape donor) are ignored.
StepFn strided_copy_step(const StepSpec& s) {
  if (s.in.empty() || s.out.size() != 1) throw nb::value_error("strided_copy: expected at least one input and one output");
  Slot *x = s.in[0], *y = s.out[0];
  expect_ints(s, 1 + y->shape.size());
  expect_dtype(s, y, x->dtype, "the result");
  const int64_t offset = s.ints[0];
  std::vector<int64_t> src_st(s.ints.begin() + 1, s.ints.end());
  check_window(s, offset, src_st, y->shape, x->size());
  const std::vector<int64_t> dst_st = contiguous_strides(y->shape);
  const std::vector<size_t> shape = y->ushape();
  const size_t isz = itemsize_of(x->dtype);
  return [=]() {
    copy_dispatch(isz, static_cast<char*>(y->data), dst_st.data(), static_cast<const char*>(x->data) + offset * (int64_t)isz,
                  src_st.data(), shape);
  };
}

// dst[idx] += src[idx]: dst strided, src C-contiguous.
template <class T>
void strided_add(T* dst, const int64_t* dst_st, const T* src, const std::vector<size_t>& shape) {
  const std::vector<int64_t> src_st = contiguous_strides(shape);
  const int64_t ds = shape.empty() ? 1 : dst_st[shape.size() - 1];
  for_rows(shape, dst_st, src_st.data(), [&](int64_t od, int64_t os, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[od + i * ds] += src[os + i];
  });
}

template <class T>
void fill_run(T* out, int64_t n, T v) {
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) out[i] = v;
}

// A window of scatter_slices: input `src` written at element `offset` of the output with `strides`.
struct Window {
  const Slot* src;
  int64_t offset;
  std::vector<int64_t> strides, src_strides;
  std::vector<size_t> shape;
};

// Copies every window into `out` (itemsize bytes per element). The windows are disjoint, so many
// small ones (a concatenation of time steps) are shared out over the threads whole.
void copy_windows(size_t itemsize, char* out, const std::vector<Window>& ws, int64_t out_size) {
  const int64_t n = (int64_t)ws.size();
#pragma omp parallel for schedule(static) if (n > 1 && out_size > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const Window& w = ws[i];
    copy_dispatch(itemsize, out + w.offset * (int64_t)itemsize, w.strides.data(), static_cast<const char*>(w.src->data),
                  w.src_strides.data(), w.shape);
  }
}

// out = fill; then each input k is written (mode 0/1) or added (mode 2) into out's window
// (offset_k, strides_k) — concatenate, pad and the gradient of slicing. ints: [mode, then per
// input: offset, strides (one per input axis)]; floats: [fill]. Mode 0 skips the fill (the
// windows tile out). Windows written in mode 0/1 must not overlap; mode 2 adds in input order.
StepFn scatter_slices_step(const StepSpec& s) {
  if (s.out.size() != 1 || s.ints.empty() || s.floats.size() != 1)
    throw nb::value_error("scatter_slices: expected one output, ints [mode, windows...] and floats [fill]");
  Slot* y = s.out[0];
  const int64_t mode = s.ints[0];
  if (mode < 0 || mode > 2) throw nb::value_error("scatter_slices: unknown mode");
  std::vector<Window> ws;
  size_t k = 1;
  for (const Slot* x : s.in) {
    expect_dtype(s, x, y->dtype, "every input");
    if (k + 1 + x->shape.size() > s.ints.size()) throw nb::value_error("scatter_slices: too few ints for the windows");
    Window w{x, s.ints[k], std::vector<int64_t>(s.ints.begin() + k + 1, s.ints.begin() + k + 1 + x->shape.size()),
             contiguous_strides(x->shape), x->ushape()};
    check_window(s, w.offset, w.strides, x->shape, y->size());
    k += 1 + x->shape.size();
    ws.push_back(std::move(w));
  }
  if (k != s.ints.size()) throw nb::value_error("scatter_slices: too many ints for the windows");
  if (mode == 2 && y->dtype == DType::Bool) throw nb::type_error("scatter_slices: cannot add bool arrays");
  const double fill = s.floats[0];
  StepFn fn;
  LK_DISPATCH_ALL(y->dtype, {
    fn = [=]() {
      T* out = y->as<T>();
      if (mode != 0) fill_run<T>(out, (int64_t)y->size(), T(fill));
      if (mode == 2) {  // windows may overlap: added one after another
        if constexpr (!std::is_same_v<T, bool>)
          for (const Window& w : ws) strided_add<T>(out + w.offset, w.strides.data(), w.src->as<T>(), w.shape);
        return;
      }
      copy_windows(sizeof(T), reinterpret_cast<char*>(out), ws, (int64_t)y->size());
    };
  });
  return fn;
}

// ints: [outer, n, inner, along]: take (along 0) or take_along_axis (along 1)
StepFn gather_step(const StepSpec& s) {
  expect_arity(s, 2, 1);
  expect_ints(s, 4);
  const int64_t outer = s.ints[0], n = s.ints[1], inner = s.ints[2];
  const bool along = s.ints[3];
  Slot *x = s.in[0], *idx = s.in[1], *y = s.out[0];
  const char* name = along ? "take_along_axis" : "take";
  if (outer < 0 || n < 0 || inner < 0 || (size_t)(outer * n * inner) != x->size())
    throw nb::value_error((std::string(name) + ": (outer, n, inner) does not match the operand").c_str());
  const int64_t m = along ? (outer * inner != 0 ? (int64_t)idx->size() / (outer * inner) : 0) : (int64_t)idx->size();
  if ((size_t)(outer * m * inner) != y->size() || (along && (size_t)(outer * m * inner) != idx->size()))
    throw nb::value_error((std::string(name) + ": the indices do not match the result").c_str());
  expect_dtype(s, y, x->dtype, "the result");
  if (idx->dtype != DType::I32 && idx->dtype != DType::I64)
    throw nb::type_error((std::string(name) + ": indices must be int32 or int64").c_str());
  const size_t isz = itemsize_of(x->dtype);
  return [=]() {
    auto ix = checked_indices(name, idx->dtype, idx->data, idx->size(), n);
    gather_dispatch(isz, static_cast<const char*>(x->data), static_cast<char*>(y->data), ix, outer, n, m, inner, along);
  };
}

// ints: [outer, n, inner, along]: the gradient of gather (a sum into zeros)
StepFn scatter_add_step(const StepSpec& s) {
  expect_arity(s, 2, 1);
  expect_ints(s, 4);
  const int64_t outer = s.ints[0], n = s.ints[1], inner = s.ints[2];
  const bool along = s.ints[3];
  Slot *g = s.in[0], *idx = s.in[1], *y = s.out[0];
  const char* name = along ? "scatter_add_along_axis" : "scatter_add";
  if (outer < 0 || n < 0 || inner < 0 || (size_t)(outer * n * inner) != y->size())
    throw nb::value_error((std::string(name) + ": (outer, n, inner) does not match the result").c_str());
  const int64_t m = along ? (outer * inner != 0 ? (int64_t)idx->size() / (outer * inner) : 0) : (int64_t)idx->size();
  if ((size_t)(outer * m * inner) != g->size()) throw nb::value_error((std::string(name) + ": g does not match indices").c_str());
  expect_dtype(s, y, g->dtype, "the result");
  if (idx->dtype != DType::I32 && idx->dtype != DType::I64)
    throw nb::type_error((std::string(name) + ": indices must be int32 or int64").c_str());
  StepFn fn;
  LK_DISPATCH_NUMERIC(g->dtype, name, fn = [=]() {
    auto ix = checked_indices(name, idx->dtype, idx->data, idx->size(), n);
    scatter_loop<T>(g->as<T>(), y->as<T>(), ix, outer, n, m, inner, along);
  });
  return fn;
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
  register_step("strided_copy", &strided_copy_step);
  register_step("scatter_slices", &scatter_slices_step);
  register_step("gather", &gather_step);
  register_step("scatter_add", &scatter_add_step);
}

}  // namespace layerkit::core
