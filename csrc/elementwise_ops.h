// The scalar math of every elementwise op, in one place: eager kernels (elementwise.cpp) and
// fused graph kernels (fused.cpp) instantiate these, so both compute bit-identical results.
//
// The float32 loops of exp, tanh and sigmoid also exist compiled for x86-64-v3 (AVX2 + FMA) and
// x86-64-v4 (AVX-512), and unary_array takes the best the CPU has (simd.cpp): the baseline
// build targets any x86-64, whose SSE2 code runs these polynomials 3-6x slower. Those files
// include this header inside other inline namespaces (LK_ISA), so the compilations of each
// inline function never meet at link time.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#ifndef LK_ISA
#define LK_ISA baseline
#endif

namespace layerkit::core {
inline namespace LK_ISA {

// ---- float32 exp and tanh that vectorize -------------------------------------------------------
// libm's expf/tanhf are scalar calls (~10-20 ns each), which made every sigmoid/tanh/softmax
// loop run at scalar speed. These are branch-free Cephes-style polynomials (max error ~2 ulp),
// so the compiler turns whole loops of them into SIMD code. float64 keeps libm.
inline float exp_f32(float x) {
  const float in = x;
  x = x > 88.72283935546875f ? 88.72283935546875f : x;
  x = x < -87.3365447505531f ? -87.3365447505531f : x;
  // k = round(x / ln 2) by the 1.5 * 2^23 trick (exact for |x / ln 2| < 2^22), then r = x - k ln 2
  // in two parts; all float, so every step maps to one SIMD instruction even without SSE4.1
  const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  // 2^k as 2^h * 2^(k - h), h = k / 2: both factors are normal floats for k in [-126, 128]
  const int32_t n = static_cast<int32_t>(k), h = n >> 1;
  const uint32_t b1 = static_cast<uint32_t>(h + 127) << 23, b2 = static_cast<uint32_t>(n - h + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof(s1));
  std::memcpy(&s2, &b2, sizeof(s2));
  // outside float32's normal range: overflow to inf, and 0 below the smallest normal (the
  // denormals numpy would return differ from 0 by less than 1.2e-38); NaN stays NaN
  return in > 88.72283935546875f ? INFINITY : (in < -87.3365447505531f ? 0.0f : (in != in ? in : y * s1 * s2));
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
  return a < 0.625f ? (x == 0.0f ? x : small) : (x < 0.0f ? -big : big);  // x: keeps the sign of -0.0
}

enum class U { Neg, Abs, Sign, Square, Sqrt, Rsqrt, Exp, Log, Log1p, Expm1, Tanh, Sigmoid, Relu,
               Erf, Sin, Cos, Floor, Ceil, Round, Reciprocal, LogicalNot };

// The op is a template parameter: each instantiation is one straight-line expression the
// compiler inlines into its loop and vectorizes (a runtime switch per element would not).
template <U op, class T>
inline T unary_apply(T x) {
  if constexpr (op == U::Neg) return -x;
  else if constexpr (op == U::Abs) return x < T(0) ? -x : x;
  // NaN propagates through sign and relu, as in numpy (for ints x != x and !(x <= 0) are exact)
  else if constexpr (op == U::Sign) return x != x ? x : T((T(0) < x) - (x < T(0)));
  else if constexpr (op == U::Square) return x * x;
  else if constexpr (op == U::Relu) return !(x <= T(0)) ? x : T(0);
  else if constexpr (!std::is_floating_point_v<T>) return x;
  else if constexpr (op == U::Sqrt) return std::sqrt(x);
  else if constexpr (op == U::Rsqrt) return T(1) / std::sqrt(x);
  else if constexpr (op == U::Exp) {
    if constexpr (std::is_same_v<T, float>) return exp_f32(x);
    else return std::exp(x);
  } else if constexpr (op == U::Log) return std::log(x);
  else if constexpr (op == U::Log1p) return std::log1p(x);
  else if constexpr (op == U::Expm1) return std::expm1(x);
  else if constexpr (op == U::Tanh) {
    if constexpr (std::is_same_v<T, float>) return tanh_f32(x);
    else return std::tanh(x);
  } else if constexpr (op == U::Sigmoid) {
    if constexpr (std::is_same_v<T, float>) {
      const float e = exp_f32(-(x < 0.0f ? -x : x));  // exp(-|x|) <= 1: no overflow either way
      return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    } else {
      return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    }
  } else if constexpr (op == U::Erf) return std::erf(x);
  else if constexpr (op == U::Sin) return std::sin(x);
  else if constexpr (op == U::Cos) return std::cos(x);
  else if constexpr (op == U::Floor) return std::floor(x);
  else if constexpr (op == U::Ceil) return std::ceil(x);
  else if constexpr (op == U::Round) return std::nearbyint(x);  // half to even, as numpy
  else if constexpr (op == U::Reciprocal) return T(1) / x;
  else return x;
}

// The cost of an op per element relative to an add, for deciding when a loop is worth threads.
inline int64_t unary_cost(U op) {
  switch (op) {
    case U::Exp: case U::Log: case U::Log1p: case U::Expm1: case U::Tanh: case U::Sigmoid: case U::Erf:
    case U::Sin: case U::Cos:
      return 8;
    default:
      return 1;
  }
}

// Runs the SIMD loop of `op` for the best instruction set the CPU has, if `op` has one; false if not.
bool unary_f32_simd(int op, const float* x, float* y, int64_t n);
// Caps the instruction set level every SIMD dispatch takes (4: AVX-512, 3: AVX2 + FMA, 0: the
// baseline loops; tests compare them); returns the previous cap. isa_level(): the level taken
// now (the cap, or less on a CPU without it).
int set_isa_level(int cap);
int isa_level();

// y[i] = op(x[i]) for an op chosen at run time: one switch per array, then a vectorized loop.
template <class T>
void unary_array(U op, const T* x, T* y, int64_t n) {
#ifndef LK_NO_ISA_DISPATCH
  if constexpr (std::is_same_v<T, float>)
    if ((op == U::Exp || op == U::Tanh || op == U::Sigmoid) && unary_f32_simd(int(op), x, y, n)) return;
#endif
  switch (op) {
#define LK_U(name) \
  case U::name: for (int64_t i = 0; i < n; ++i) y[i] = unary_apply<U::name, T>(x[i]); return;
    LK_U(Neg) LK_U(Abs) LK_U(Sign) LK_U(Square) LK_U(Sqrt) LK_U(Rsqrt) LK_U(Exp) LK_U(Log) LK_U(Log1p)
    LK_U(Expm1) LK_U(Tanh) LK_U(Sigmoid) LK_U(Relu) LK_U(Erf) LK_U(Sin) LK_U(Cos) LK_U(Floor) LK_U(Ceil)
    LK_U(Round) LK_U(Reciprocal)
#undef LK_U
    default:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i];
  }
}

// The epilogue of a GEMM or conv tile: y[r][j] = act(y[r][j] + bias[j]) for r < rows, j < n, rows
// ld apart; bias may be null, act is a U code or -1 for none.
template <class T>
void bias_act_rows(T* y, int64_t rows, int64_t ld, int64_t n, const T* bias, int act) {
  for (int64_t r = 0; r < rows; ++r) {
    T* __restrict yr = y + r * ld;
    if (bias)
      for (int64_t j = 0; j < n; ++j) yr[j] += bias[j];
    if (act >= 0 && ld != n) unary_array<T>(static_cast<U>(act), yr, yr, n);
  }
  if (act >= 0 && ld == n) unary_array<T>(static_cast<U>(act), y, y, rows * n);
}

// The activation codes an epilogue accepts: a U code, or -1 for none.
inline bool valid_activation(int64_t act) { return act >= -1 && act <= (int64_t)U::Reciprocal; }

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

}  // namespace LK_ISA
}  // namespace layerkit::core
