// The scalar math of every elementwise op, in one place: eager kernels (elementwise.cpp) and
// fused graph kernels (fused.cpp) instantiate these, so both compute bit-identical results.
#pragma once
#include <cmath>
#include <type_traits>

namespace layerkit::core {

enum class U { Neg, Abs, Sign, Square, Sqrt, Rsqrt, Exp, Log, Log1p, Expm1, Tanh, Sigmoid, Relu,
               Erf, Sin, Cos, Floor, Ceil, Round, Reciprocal, LogicalNot };

template <class T>
inline T unary_fn(U op, T x) {
  switch (op) {
    case U::Neg: return -x;
    case U::Abs: return x < T(0) ? -x : x;
    // NaN propagates through sign and relu, as in numpy (for ints x != x and !(x <= 0) are exact)
    case U::Sign: return x != x ? x : T((T(0) < x) - (x < T(0)));
    case U::Square: return x * x;
    case U::Relu: return !(x <= T(0)) ? x : T(0);
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case U::Sqrt: return std::sqrt(x);
      case U::Rsqrt: return T(1) / std::sqrt(x);
      case U::Exp: return std::exp(x);
      case U::Log: return std::log(x);
      case U::Log1p: return std::log1p(x);
      case U::Expm1: return std::expm1(x);
      case U::Tanh: return std::tanh(x);
      case U::Sigmoid: return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
      case U::Erf: return std::erf(x);
      case U::Sin: return std::sin(x);
      case U::Cos: return std::cos(x);
      case U::Floor: return std::floor(x);
      case U::Ceil: return std::ceil(x);
      case U::Round: return std::nearbyint(x);  // half to even, as numpy
      case U::Reciprocal: return T(1) / x;
      default: break;
    }
  }
  return x;
}

enum class B { Add, Sub, Mul, Div, Pow, Max, Min, Eq, Ne, Lt, Le, Gt, Ge, And, Or, ReluGrad };

constexpr bool is_compare(B op) { return op >= B::Eq && op <= B::Ge; }
constexpr bool is_logical(B op) { return op == B::And || op == B::Or; }
constexpr bool is_float_only(B op) { return op == B::Div || op == B::Pow; }

template <B op, class T>
inline auto binary_fn(T a, T b) {
  if constexpr (op == B::Add) return a + b;
  else if constexpr (op == B::Sub) return a - b;
  else if constexpr (op == B::Mul) return a * b;
  else if constexpr (op == B::Div) return a / b;
  else if constexpr (op == B::Pow) return T(std::pow(a, b));
  // NaN propagates through maximum/minimum, as in numpy
  else if constexpr (op == B::Max) return (a != a || a > b) ? a : b;
  else if constexpr (op == B::Min) return (a != a || a < b) ? a : b;
  else if constexpr (op == B::Eq) return a == b;
  else if constexpr (op == B::Ne) return a != b;
  else if constexpr (op == B::Lt) return a < b;
  else if constexpr (op == B::Le) return a <= b;
  else if constexpr (op == B::Gt) return a > b;
  else if constexpr (op == B::Ge) return a >= b;
  else if constexpr (op == B::And) return bool(a && b);
  else if constexpr (op == B::ReluGrad) return a > T(0) ? b : T(0);  // a = relu input, b = gradient
  else return bool(a || b);
}

}  // namespace layerkit::core
