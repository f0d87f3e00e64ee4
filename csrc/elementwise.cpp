// Elementwise kernels: unary maps, binary and ternary (where) maps with NumPy broadcasting,
// and dtype casts. One strided loop serves every broadcast pattern; the common same-shape
// case takes a flat, vectorizable path.
#include <algorithm>
#include <array>
#include <cmath>

#include "broadcast.h"
#include "common.h"
#include "elementwise_ops.h"

namespace layerkit::core {
namespace {

// ---- unary ---------------------------------------------------------------------------------
// One instantiation per (op, type) keeps the inner loop branch-free and vectorizable.
template <U op, class T>
void unary_loop(const T* x, T* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = unary_apply<op, T>(x[i]);
}

constexpr bool float_only(U op) {
  return !(op == U::Neg || op == U::Abs || op == U::Sign || op == U::Square || op == U::Relu);
}

template <U op>
nb::object unary_kernel(const char* name, Array x) {
  DType dt = dtype_of(x.dtype(), name);
  if (op == U::LogicalNot) {
    if (dt != DType::Bool) throw nb::type_error((std::string(name) + ": expected a bool array").c_str());
    bool* y;
    auto out = new_array<bool>(shape_of(x), &y);
    const bool* xp = static_cast<const bool*>(x.data());
    int64_t n = (int64_t)x.size();
    {
      nb::gil_scoped_release nogil;
      for (int64_t i = 0; i < n; ++i) y[i] = !xp[i];
    }
    return out;
  }
  if constexpr (float_only(op)) {
    LK_DISPATCH_FLOAT(dt, name, {
      T* y;
      auto out = new_array<T>(shape_of(x), &y);
      { NoGil nogil(x.size()); unary_loop<op, T>(static_cast<const T*>(x.data()), y, (int64_t)x.size()); }
      return out;
    });
  } else {
    LK_DISPATCH_NUMERIC(dt, name, {
      T* y;
      auto out = new_array<T>(shape_of(x), &y);
      { NoGil nogil(x.size()); unary_loop<op, T>(static_cast<const T*>(x.data()), y, (int64_t)x.size()); }
      return out;
    });
  }
  return nb::none();
}

// ---- binary --------------------------------------------------------------------------------
template <B op, class T, class R>
void binary_run(const Plan<3>& p, const T* a, const T* b, R* y) {
  if (p.dims.size() == 1 && p.strides[0][0] == 1 && p.strides[0][1] == 1) {  // same shape
    const int64_t n = (int64_t)p.size;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) y[i] = binary_fn<op>(a[i], b[i]);
    return;
  }
  run_plan(p, [&](int64_t o, const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& s) {
    const T* pa = a + off[0];
    const T* pb = b + off[1];
    R* py = y + o;
    if (s[0] == 1 && s[1] == 1) for (int64_t i = 0; i < n; ++i) py[i] = binary_fn<op>(pa[i], pb[i]);
    else if (s[0] == 1 && s[1] == 0) { T v = *pb; for (int64_t i = 0; i < n; ++i) py[i] = binary_fn<op>(pa[i], v); }
    else if (s[0] == 0 && s[1] == 1) { T v = *pa; for (int64_t i = 0; i < n; ++i) py[i] = binary_fn<op>(v, pb[i]); }
    else for (int64_t i = 0; i < n; ++i) py[i] = binary_fn<op>(pa[i * s[0]], pb[i * s[1]]);
  });
}

template <B op, class T>
nb::object binary_typed(const Plan<3>& p, const Array& a, const Array& b) {
  using R = std::conditional_t<is_compare(op) || is_logical(op), bool, T>;
  R* y;
  auto out = new_array<R>(p.shape, &y);
  {
    NoGil nogil(p.size);
    binary_run<op, T, R>(p, static_cast<const T*>(a.data()), static_cast<const T*>(b.data()), y);
  }
  return out;
}

template <B op>
nb::object binary_kernel(const char* name, Array a, Array b) {
  DType da = dtype_of(a.dtype(), name), db = dtype_of(b.dtype(), name);
  if (da != db) throw nb::type_error((std::string(name) + ": both operands must have the same dtype").c_str());
  Plan<3> p = same_shape(a, b) ? flat_plan<3>(shape_of(a)) : make_plan<3>(name, {shape_of(a), shape_of(b)});
  if constexpr (is_logical(op)) {
    if (da != DType::Bool) throw nb::type_error((std::string(name) + ": expected bool arrays").c_str());
    return binary_typed<op, bool>(p, a, b);
  } else if constexpr (is_float_only(op)) {
    LK_DISPATCH_FLOAT(da, name, return binary_typed<op, T>(p, a, b));
  } else if constexpr (is_compare(op)) {
    if (da == DType::Bool) return binary_typed<op, bool>(p, a, b);
    LK_DISPATCH_NUMERIC(da, name, return binary_typed<op, T>(p, a, b));
  } else {
    LK_DISPATCH_NUMERIC(da, name, return binary_typed<op, T>(p, a, b));
  }
  return nb::none();
}

// ---- where ---------------------------------------------------------------------------------
template <class T>
nb::object where_typed(const Plan<3>& p, const bool* c, const T* a, const T* b) {
  T* y;
  auto out = new_array<T>(p.shape, &y);
  {
    nb::gil_scoped_release nogil;
    run_plan(p, [&](int64_t o, const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& s) {
      for (int64_t i = 0; i < n; ++i)
        y[o + i] = c[off[0] + i * s[0]] ? a[off[1] + i * s[1]] : b[off[2] + i * s[2]];
    });
  }
  return out;
}

// out = cond ? x : y, broadcasting all three; cond is bool, x and y share a dtype.
nb::object where_kernel(Array cond, Array x, Array y) {
  if (dtype_of(cond.dtype(), "where") != DType::Bool) throw nb::type_error("where: condition must be a bool array");
  DType dt = dtype_of(x.dtype(), "where");
  if (dt != dtype_of(y.dtype(), "where")) throw nb::type_error("where: x1 and x2 must have the same dtype");
  Plan<3> p = make_plan<3>("where", {shape_of(cond), shape_of(x), shape_of(y)});
  const bool* c = static_cast<const bool*>(cond.data());
  if (dt == DType::Bool) return where_typed<bool>(p, c, static_cast<const bool*>(x.data()), static_cast<const bool*>(y.data()));
  LK_DISPATCH_NUMERIC(dt, "where", return where_typed<T>(p, c, static_cast<const T*>(x.data()), static_cast<const T*>(y.data())));
  return nb::none();
}

// ---- cast ----------------------------------------------------------------------------------
template <class S, class D>
nb::object cast_typed(const Array& x) {
  D* y;
  auto out = new_array<D>(shape_of(x), &y);
  const S* s = static_cast<const S*>(x.data());
  const int64_t n = (int64_t)x.size();
  {
    nb::gil_scoped_release nogil;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<D, bool>) y[i] = s[i] != S(0);
      else y[i] = static_cast<D>(s[i]);
    }
  }
  return out;
}

#define LK_DISPATCH_ALL(dt, ...)                                         \
  switch (dt) {                                                         \
    case DType::F32: { using T = float; __VA_ARGS__; break; }           \
    case DType::F64: { using T = double; __VA_ARGS__; break; }          \
    case DType::I32: { using T = int32_t; __VA_ARGS__; break; }         \
    case DType::I64: { using T = int64_t; __VA_ARGS__; break; }         \
    case DType::Bool: { using T = bool; __VA_ARGS__; break; }           \
  }

// Converts x to the dtype with the given code (0 f32, 1 f64, 2 i32, 3 i64, 4 bool).
nb::object cast_kernel(Array x, int code) {
  if (code < 0 || code > 4) throw nb::value_error("cast: unknown dtype code");
  DType src = dtype_of(x.dtype(), "cast");
  DType dst = static_cast<DType>(code);
  LK_DISPATCH_ALL(src, {
    using S = T;
    LK_DISPATCH_ALL(dst, return cast_typed<S, T>(x));
  });
  return nb::none();
}

}  // namespace

void bind_elementwise(nb::module_& m) {
#define LK_UNARY(name, op) def_kernel(m, name, [](Array x) { return unary_kernel<op>(name, x); }, nb::arg("x"));
  LK_UNARY("negative", U::Neg)
  LK_UNARY("abs", U::Abs)
  LK_UNARY("sign", U::Sign)
  LK_UNARY("square", U::Square)
  LK_UNARY("sqrt", U::Sqrt)
  LK_UNARY("rsqrt", U::Rsqrt)
  LK_UNARY("exp", U::Exp)
  LK_UNARY("log", U::Log)
  LK_UNARY("log1p", U::Log1p)
  LK_UNARY("expm1", U::Expm1)
  LK_UNARY("tanh", U::Tanh)
  LK_UNARY("sigmoid", U::Sigmoid)
  LK_UNARY("relu", U::Relu)
  LK_UNARY("erf", U::Erf)
  LK_UNARY("sin", U::Sin)
  LK_UNARY("cos", U::Cos)
  LK_UNARY("floor", U::Floor)
  LK_UNARY("ceil", U::Ceil)
  LK_UNARY("round", U::Round)
  LK_UNARY("reciprocal", U::Reciprocal)
  LK_UNARY("logical_not", U::LogicalNot)
#undef LK_UNARY
#define LK_BINARY(name, op) def_kernel(m, name, [](Array a, Array b) { return binary_kernel<op>(name, a, b); }, nb::arg("a"), nb::arg("b"));
  LK_BINARY("add", B::Add)
  LK_BINARY("subtract", B::Sub)
  LK_BINARY("multiply", B::Mul)
  LK_BINARY("divide", B::Div)
  LK_BINARY("power", B::Pow)
  LK_BINARY("maximum", B::Max)
  LK_BINARY("minimum", B::Min)
  LK_BINARY("equal", B::Eq)
  LK_BINARY("not_equal", B::Ne)
  LK_BINARY("less", B::Lt)
  LK_BINARY("less_equal", B::Le)
  LK_BINARY("greater", B::Gt)
  LK_BINARY("greater_equal", B::Ge)
  LK_BINARY("logical_and", B::And)
  LK_BINARY("logical_or", B::Or)
  LK_BINARY("relu_grad", B::ReluGrad)
#undef LK_BINARY
  def_kernel(m, "where", &where_kernel, nb::arg("condition"), nb::arg("x1"), nb::arg("x2"));
  def_kernel(m, "cast", &cast_kernel, nb::arg("x"), nb::arg("dtype_code"));
}

}  // namespace layerkit::core
