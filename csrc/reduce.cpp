// Reductions over one axis of an array viewed as (outer, n, inner): sum, prod, max, min, argmax,
// argmin. Several axes are reduced by the Python side one axis at a time.
#include <array>
#include <cmath>
#include <memory>
#include <limits>

#include "common.h"
#include "executor.h"

namespace layerkit::core {
namespace {

enum class R { Sum, Prod, Max, Min };

template <R op, class T>
inline T combine(T a, T b) {
  if constexpr (op == R::Sum) return a + b;
  else if constexpr (op == R::Prod) return a * b;
  else if constexpr (op == R::Max) return (a != a || a > b) ? a : b;  // NaN propagates
  else return (a != a || a < b) ? a : b;
}

// Accumulator type: float sums of long rows are carried in double to limit rounding drift.
template <R op, class T>
using Acc = std::conditional_t<(op == R::Sum || op == R::Prod) && std::is_same_v<T, float>, double, T>;

// y[o, i] = reduce_j x[o, j, i]
template <R op, class T>
void reduce_loop(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  const bool big = outer * n * inner > kParallelGrain;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (big && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * n;
      Acc<op, T> acc = row[0];
      for (int64_t j = 1; j < n; ++j) acc = combine<op, Acc<op, T>>(acc, row[j]);
      y[o] = T(acc);
    }
    return;
  }
  // Rows of length `inner` are combined elementwise (vectorizable); threads split the columns.
  const int64_t block = 256;
  const int64_t nblocks = (inner + block - 1) / block;
#pragma omp parallel for collapse(2) schedule(static) if (big)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t b = 0; b < nblocks; ++b) {
      const int64_t i0 = b * block, i1 = std::min(inner, i0 + block);
      T* yo = y + o * inner;
      const T* xo = x + o * n * inner;
      for (int64_t i = i0; i < i1; ++i) yo[i] = xo[i];
      for (int64_t j = 1; j < n; ++j) {
        const T* r = xo + j * inner;
        for (int64_t i = i0; i < i1; ++i) yo[i] = combine<op, T>(yo[i], r[i]);
      }
    }
}

template <R op, class T>
void reduce_run(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  if (n == 0) {
    for (int64_t i = 0; i < outer * inner; ++i) y[i] = op == R::Sum ? T(0) : T(1);
  } else {
    reduce_loop<op, T>(x, y, outer, n, inner);
  }
}

template <R op>
nb::object reduce_kernel(const char* name, Array x, int64_t outer, int64_t n, int64_t inner) {
  if (outer < 0 || n < 0 || inner < 0 || (size_t)(outer * n * inner) != x.size())
    throw nb::value_error((std::string(name) + ": (outer, n, inner) does not match the array size").c_str());
  DType dt = dtype_of(x.dtype(), name);
  if (n == 0 && (op == R::Max || op == R::Min))
    throw nb::value_error((std::string(name) + ": cannot reduce an axis of length 0 (no identity)").c_str());
  LK_DISPATCH_NUMERIC(dt, name, {
    T* y;
    auto out = new_array<T>({(size_t)outer, (size_t)inner}, &y);
    {
      nb::gil_scoped_release nogil;
      reduce_run<op, T>(static_cast<const T*>(x.data()), y, outer, n, inner);
    }
    return out;
  });
  return nb::none();
}

// y[o, i] = index j of the first max (or min) of x[o, :, i]; NaN counts as the extreme.
template <bool is_max, class T>
void arg_loop(const T* x, int32_t* y, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for collapse(2) schedule(static) if (outer * n * inner > kParallelGrain)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* p = x + o * n * inner + i;
      T best = p[0];
      int32_t bi = 0;
      if (best == best)
        for (int64_t j = 1; j < n; ++j) {
          T v = p[j * inner];
          if (v != v) { bi = (int32_t)j; break; }
          if (is_max ? v > best : v < best) { best = v; bi = (int32_t)j; }
        }
      y[o * inner + i] = bi;
    }
}

template <bool is_max>
nb::object arg_kernel(const char* name, Array x, int64_t outer, int64_t n, int64_t inner) {
  if (outer < 0 || n < 0 || inner < 0 || (size_t)(outer * n * inner) != x.size())
    throw nb::value_error((std::string(name) + ": (outer, n, inner) does not match the array size").c_str());
  if (n == 0) throw nb::value_error((std::string(name) + ": cannot take the arg-extreme of an empty axis").c_str());
  DType dt = dtype_of(x.dtype(), name);
  int32_t* y;
  auto out = new_array<int32_t>({(size_t)outer, (size_t)inner}, &y);
  LK_DISPATCH_NUMERIC(dt, name, {
    nb::gil_scoped_release nogil;
    arg_loop<is_max, T>(static_cast<const T*>(x.data()), y, outer, n, inner);
  });
  return out;
}


// ---- native steps ----------------------------------------------------------------------------
// ints: [op (0 sum, 1 prod, 2 max, 3 min), then (outer, n, inner) per reduced axis, innermost
// axis first]: one pass per axis, through scratch buffers allocated with the step
template <class T>
StepFn reduce_typed_step(R op, std::vector<std::array<int64_t, 3>> passes, const Slot* x, const Slot* y) {
  auto scratch = std::make_shared<std::vector<std::vector<T>>>();
  for (size_t k = 0; k + 1 < passes.size(); ++k) scratch->emplace_back((size_t)(passes[k][0] * passes[k][2]));
  return [=]() {
    const T* src = x->as<T>();
    for (size_t k = 0; k < passes.size(); ++k) {
      T* dst = k + 1 < passes.size() ? (*scratch)[k].data() : y->as<T>();
      const auto [o, n, i] = passes[k];
      switch (op) {
        case R::Sum: reduce_run<R::Sum, T>(src, dst, o, n, i); break;
        case R::Prod: reduce_run<R::Prod, T>(src, dst, o, n, i); break;
        case R::Max: reduce_run<R::Max, T>(src, dst, o, n, i); break;
        case R::Min: reduce_run<R::Min, T>(src, dst, o, n, i); break;
      }
      src = dst;
    }
  };
}

StepFn reduce_step(const StepSpec& s) {
  expect_arity(s, 1, 1);
  if (s.ints.size() < 4 || (s.ints.size() - 1) % 3 || s.ints[0] < 0 || s.ints[0] > 3)
    throw nb::value_error("reduce: expected ints [op, (outer, n, inner) per axis]");
  const R op = static_cast<R>(s.ints[0]);
  Slot *x = s.in[0], *y = s.out[0];
  expect_dtype(s, y, x->dtype, "the result");
  std::vector<std::array<int64_t, 3>> passes;
  size_t size = x->size();
  for (size_t k = 1; k < s.ints.size(); k += 3) {
    const int64_t o = s.ints[k], n = s.ints[k + 1], i = s.ints[k + 2];
    if (o < 0 || n < 0 || i < 0 || (size_t)(o * n * i) != size)
      throw nb::value_error("reduce: (outer, n, inner) does not match the size of what it reduces");
    if (n == 0 && (op == R::Max || op == R::Min))
      throw nb::value_error("reduce: cannot take the max or min over an axis of length 0");
    passes.push_back({o, n, i});
    size = (size_t)(o * i);
  }
  if (size != y->size()) throw nb::value_error("reduce: the result's size does not match the reduction");
  StepFn fn;
  LK_DISPATCH_NUMERIC(x->dtype, "reduce", fn = reduce_typed_step<T>(op, passes, x, y));
  return fn;
}

// ints: [is_max, outer, n, inner]; int32 result
StepFn arg_step(const StepSpec& s) {
  expect_arity(s, 1, 1);
  expect_ints(s, 4);
  const bool is_max = s.ints[0];
  const int64_t o = s.ints[1], n = s.ints[2], i = s.ints[3];
  Slot *x = s.in[0], *y = s.out[0];
  if (o < 0 || n <= 0 || i < 0 || (size_t)(o * n * i) != x->size() || (size_t)(o * i) != y->size())
    throw nb::value_error("argmax: (outer, n, inner) does not match the operand and result sizes");
  expect_dtype(s, y, DType::I32, "the result");
  StepFn fn;
  LK_DISPATCH_NUMERIC(x->dtype, "argmax", {
    if (is_max) fn = [=]() { arg_loop<true, T>(x->as<T>(), y->as<int32_t>(), o, n, i); };
    else fn = [=]() { arg_loop<false, T>(x->as<T>(), y->as<int32_t>(), o, n, i); };
  });
  return fn;
}

}  // namespace

void bind_reduce(nb::module_& m) {
#define LK_REDUCE(name, op) \
  def_kernel(m, name, [](Array x, int64_t o, int64_t n, int64_t i) { return reduce_kernel<op>(name, x, o, n, i); }, \
             nb::arg("x"), nb::arg("outer"), nb::arg("n"), nb::arg("inner"));
  LK_REDUCE("sum", R::Sum)
  LK_REDUCE("prod", R::Prod)
  LK_REDUCE("max", R::Max)
  LK_REDUCE("min", R::Min)
#undef LK_REDUCE
  def_kernel(m, "argmax", [](Array x, int64_t o, int64_t n, int64_t i) { return arg_kernel<true>("argmax", x, o, n, i); },
             nb::arg("x"), nb::arg("outer"), nb::arg("n"), nb::arg("inner"));
  def_kernel(m, "argmin", [](Array x, int64_t o, int64_t n, int64_t i) { return arg_kernel<false>("argmin", x, o, n, i); },
             nb::arg("x"), nb::arg("outer"), nb::arg("n"), nb::arg("inner"));
  register_step("reduce", &reduce_step);
  register_step("arg_reduce", &arg_step);
}

}  // namespace layerkit::core
