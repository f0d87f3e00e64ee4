// The scalar math of every elementwise op, in one place: eager kernels (elementwise.cpp) and
// fused graph kernels (fused.cpp) instantiate these, so both compute bit-identical results.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace layerkit::core {

// ---- float32 exp and tanh that vectorize -------------------------------------------------------
// libm's expf/tanhf are scalar calls (~10-20 ns each), which made every sigmoid/tanh/softmax
// loop run at scalar speed. These are branch-free Cephes-style polynomials (max error ~2 ulp),
// so the compiler turns whole loops of them into SIMD code. float64 keeps libm.
inline float exp_f32(float x) {
  const float in = x;
  x = x > 88.72283935546875f ? 88.72283935546875f : (x < -87.3365447505531f ? -87.3365447505531f : x);
  float fx = x * 1.44269504088896341f + 0.5f;
  int n = static_cast<int>(fx);
  n -= (fx < static_cast<float>(n));  // floor
  const float k = static_cast<float>(n);
  const float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  // 2^n as 2^(n - s) * 2^s, s = 1 for n > 0: n reaches 128 near the top of the range
  const int s = n > 0;
  uint32_t bits = static_cast<uint32_t>(n - s + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  // outside float32's normal range: overflow to inf, and 0 below the smallest normal (the
  // denormals numpy would return differ from 0 by less than 1.2e-38); NaN stays NaN
  return in > 88.72283935546875f ? INFINITY : (in < -87.3365447505531f ? 0.0f : (in != in ? in : y * scale * (s ? 2.0f : 1.0f)));
}

inline float tanh_f32(float x) {
  const float a = x < 0.0f ? -x : x;
  // |x| < 0.625: odd polynomial (no cancellation near 0); else 1 - 2 / (exp(2|x|) + 1)
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float big = 1.0f - 2.0f / (exp_f32(2.0f * a) + 1.0f);
  return a < 0.625f ? small : (x < 0.0f ? -big : big);
}

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
      case U::Exp:
        if constexpr (std::is_same_v<T, float>) return exp_f32(x);
        else return std::exp(x);
      case U::Log: return std::log(x);
      case U::Log1p: return std::log1p(x);
      case U::Expm1: return std::expm1(x);
      case U::Tanh:
        if constexpr (std::is_same_v<T, float>) return tanh_f32(x);
        else return std::tanh(x);
      case U::Sigmoid:
        if constexpr (std::is_same_v<T, float>) {
          const float e = exp_f32(-(x < 0.0f ? -x : x));  // exp(-|x|) <= 1: no overflow either way
          return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        } else {
          return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
        }
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
