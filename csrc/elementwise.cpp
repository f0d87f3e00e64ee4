// Elementwise kernels: unary maps, binary and ternary (where) maps with NumPy broadcasting,
// and dtype casts. One strided loop serves every broadcast pattern; the common same-shape
// case takes a flat, vectorizable path.
#include <algorithm>
#include <array>
#include <cmath>

#include "broadcast.h"
#include "common.h"
#include "elementwise_ops.h"
#include "executor.h"

namespace layerkit::core {
namespace {

// ---- unary ---------------------------------------------------------------------------------
// y = op(x), shared out over the threads in blocks when the work is large enough (a
// transcendental op weighs as much as several simple ones).
template <class T>
void unary_par(U op, const T* x, T* y, int64_t n) {
  if (n * unary_cost(op) <= kParallelGrain) return unary_array<T>(op, x, y, n);
  constexpr int64_t chunk = 1 << 12;
#pragma omp parallel for schedule(static)
  for (int64_t f = 0; f < n; f += chunk) unary_array<T>(op, x + f, y + f, std::min(chunk, n - f));
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
      { NoGil nogil(x.size()); unary_par<T>(op, static_cast<const T*>(x.data()), y, (int64_t)x.size()); }
      return out;
    });
  } else {
    LK_DISPATCH_NUMERIC(dt, name, {
      T* y;
      auto out = new_array<T>(shape_of(x), &y);
      { NoGil nogil(x.size()); unary_par<T>(op, static_cast<const T*>(x.data()), y, (int64_t)x.size()); }
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
void where_run(const Plan<3>& p, const bool* c, const T* a, const T* b, T* y) {
  run_plan(p, [&](int64_t o, const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& s) {
    for (int64_t i = 0; i < n; ++i) y[o + i] = c[off[0] + i * s[0]] ? a[off[1] + i * s[1]] : b[off[2] + i * s[2]];
  });
}

template <class T>
nb::object where_typed(const Plan<3>& p, const bool* c, const T* a, const T* b) {
  T* y;
  auto out = new_array<T>(p.shape, &y);
  {
    nb::gil_scoped_release nogil;
    where_run<T>(p, c, a, b, y);
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
void cast_run(const S* s, D* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<D, bool>) y[i] = s[i] != S(0);
    else y[i] = static_cast<D>(s[i]);
  }
}

template <class S, class D>
nb::object cast_typed(const Array& x) {
  D* y;
  auto out = new_array<D>(shape_of(x), &y);
  {
    nb::gil_scoped_release nogil;
    cast_run<S, D>(static_cast<const S*>(x.data()), y, (int64_t)x.size());
  }
  return out;
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


// ---- native steps (the graph executor's entry points; same loops as the kernels above) --------
// ints: [op code]
StepFn unary_step(const StepSpec& s) {
  expect_arity(s, 1, 1);
  expect_ints(s, 1);
  if (s.ints[0] < 0 || s.ints[0] > (int64_t)U::LogicalNot) throw nb::value_error("unary: unknown op code");
  const U op = static_cast<U>(s.ints[0]);
  Slot *x = s.in[0], *y = s.out[0];
  expect_shape(s, y, x->shape, "the result");
  expect_dtype(s, y, x->dtype, "the result");
  if (op == U::LogicalNot) {
    expect_dtype(s, x, DType::Bool, "logical_not's operand");
    return [x, y]() {
      const bool* a = x->as<bool>();
      bool* b = y->as<bool>();
      for (size_t i = 0, n = x->size(); i < n; ++i) b[i] = !a[i];
    };
  }
  const bool float_op = !(op == U::Neg || op == U::Abs || op == U::Sign || op == U::Square || op == U::Relu);
  StepFn fn;
  if (float_op) {
    LK_DISPATCH_FLOAT(x->dtype, "unary", fn = [x, y, op]() { unary_par<T>(op, x->as<T>(), y->as<T>(), (int64_t)x->size()); });
  } else {
    LK_DISPATCH_NUMERIC(x->dtype, "unary", fn = [x, y, op]() { unary_par<T>(op, x->as<T>(), y->as<T>(), (int64_t)x->size()); });
  }
  return fn;
}

template <class F>
void dispatch_binary(B op, F&& f) {
  switch (op) {
#define LK_B(name) case B::name: f(std::integral_constant<B, B::name>{}); return;
    LK_B(Add) LK_B(Sub) LK_B(Mul) LK_B(Div) LK_B(Pow) LK_B(Max) LK_B(Min) LK_B(Eq) LK_B(Ne) LK_B(Lt) LK_B(Le)
    LK_B(Gt) LK_B(Ge) LK_B(And) LK_B(Or) LK_B(ReluGrad)
#undef LK_B
  }
}

template <B op, class T>
StepFn binary_typed_step(const Plan<3>& p, const Slot* a, const Slot* b, const Slot* y) {
  using R = std::conditional_t<is_compare(op) || is_logical(op), bool, T>;
  return [p, a, b, y]() { binary_run<op, T, R>(p, a->as<T>(), b->as<T>(), y->as<R>()); };
}

// ints: [op code]; a and b broadcast to the result's shape
StepFn binary_step(const StepSpec& s) {
  expect_arity(s, 2, 1);
  expect_ints(s, 1);
  if (s.ints[0] < 0 || s.ints[0] > (int64_t)B::ReluGrad) throw nb::value_error("binary: unknown op code");
  Slot *a = s.in[0], *b = s.in[1], *y = s.out[0];
  expect_dtype(s, b, a->dtype, "both operands");
  Plan<3> p = make_plan<3>(s.kernel.c_str(), {a->ushape(), b->ushape()});
  if (p.shape != y->ushape()) throw nb::value_error("binary: the operands broadcast to another shape than the result's");
  StepFn fn;
  dispatch_binary(static_cast<B>(s.ints[0]), [&](auto tag) {
    constexpr B op = decltype(tag)::value;
    expect_dtype(s, y, is_compare(op) || is_logical(op) ? DType::Bool : a->dtype, "the result");
    if constexpr (is_logical(op)) {
      expect_dtype(s, a, DType::Bool, "logical operands");
      fn = binary_typed_step<op, bool>(p, a, b, y);
    } else if constexpr (is_float_only(op)) {
      LK_DISPATCH_FLOAT(a->dtype, "binary", fn = binary_typed_step<op, T>(p, a, b, y));
    } else {
      if (is_compare(op) && a->dtype == DType::Bool) fn = binary_typed_step<op, bool>(p, a, b, y);
      else LK_DISPATCH_NUMERIC(a->dtype, "binary", fn = binary_typed_step<op, T>(p, a, b, y));
    }
  });
  return fn;
}

StepFn where_step(const StepSpec& s) {
  expect_arity(s, 3, 1);
  Slot *c = s.in[0], *a = s.in[1], *b = s.in[2], *y = s.out[0];
  expect_dtype(s, c, DType::Bool, "the condition");
  expect_dtype(s, b, a->dtype, "x1 and x2");
  expect_dtype(s, y, a->dtype, "the result");
  Plan<3> p = make_plan<3>("where", {c->ushape(), a->ushape(), b->ushape()});
  if (p.shape != y->ushape()) throw nb::value_error("where: the operands broadcast to another shape than the result's");
  StepFn fn;
  if (a->dtype == DType::Bool) fn = [p, c, a, b, y]() { where_run<bool>(p, c->as<bool>(), a->as<bool>(), b->as<bool>(), y->as<bool>()); };
  else LK_DISPATCH_NUMERIC(a->dtype, "where", fn = [p, c, a, b, y]() { where_run<T>(p, c->as<bool>(), a->as<T>(), b->as<T>(), y->as<T>()); });
  return fn;
}

// the result slot's dtype is the target
StepFn cast_step(const StepSpec& s) {
  expect_arity(s, 1, 1);
  Slot *x = s.in[0], *y = s.out[0];
  expect_shape(s, y, x->shape, "the result");
  StepFn fn;
  LK_DISPATCH_ALL(x->dtype, {
    using S = T;
    LK_DISPATCH_ALL(y->dtype, fn = [x, y]() { cast_run<S, T>(x->as<S>(), y->as<T>(), (int64_t)x->size()); });
  });
  return fn;
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
  register_step("unary", &unary_step);
  register_step("binary", &binary_step);
  register_step("where", &where_step);
  register_step("cast", &cast_step);
}

}  // namespace layerkit::core
