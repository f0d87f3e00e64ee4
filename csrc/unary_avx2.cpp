// The float32 exp, tanh and sigmoid loops of elementwise_ops.h compiled for x86-64-v3 (AVX2 +
// FMA): 8 lanes and fused multiply-adds run their polynomials about 3x faster than the baseline
// SSE2 build. unary_array calls in here only when the CPU reports both features.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define LK_ISA x86_64_v3
#define LK_NO_ISA_DISPATCH
#include "elementwise_ops.h"

namespace layerkit::core::x86_64_v3 {
namespace {
template <U op>
__attribute__((noinline)) void run(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = unary_apply<op, float>(x[i]);
}
}  // namespace
}  // namespace layerkit::core::x86_64_v3
#pragma GCC pop_options

namespace layerkit::core::baseline {
namespace {
std::atomic<bool> g_enabled{true};
}

bool set_isa_dispatch(bool enabled) { return g_enabled.exchange(enabled); }

bool unary_f32_avx2(int op, const float* x, float* y, int64_t n) {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!has || !g_enabled.load(std::memory_order_relaxed)) return false;
  using V = x86_64_v3::U;
  switch (static_cast<V>(op)) {
    case V::Exp: x86_64_v3::run<V::Exp>(x, y, n); return true;
    case V::Tanh: x86_64_v3::run<V::Tanh>(x, y, n); return true;
    case V::Sigmoid: x86_64_v3::run<V::Sigmoid>(x, y, n); return true;
    default: return false;
  }
}
}  // namespace layerkit::core::baseline
#else
namespace layerkit::core::baseline {
bool set_isa_dispatch(bool) { return false; }
bool unary_f32_avx2(int, const float*, float*, int64_t) { return false; }
}  // namespace layerkit::core::baseline
#endif
