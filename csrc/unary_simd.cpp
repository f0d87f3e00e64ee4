// Run-time dispatch of the float32 exp, tanh and sigmoid loops of elementwise_ops.h. The default
// build targets any x86-64, whose 4-wide SSE2 code without fused multiply-adds runs these
// polynomials ~3x slower than AVX2 + FMA and ~6x slower than AVX-512; unary_v3.cpp and
// unary_v4.cpp compile them again for those, and unary_array takes the best the CPU has.
#include <atomic>
#include <cstdint>

#include "elementwise_ops.h"

namespace layerkit::core {
#if defined(__x86_64__) && defined(__GNUC__)
namespace x86_64_v3 {
bool unary_f32(int op, const float* x, float* y, int64_t n);
}
namespace x86_64_v4 {
bool unary_f32(int op, const float* x, float* y, int64_t n);
}
#endif

inline namespace baseline {
namespace {
std::atomic<bool> g_enabled{true};

using Loop = bool (*)(int, const float*, float*, int64_t);

Loop best_loop() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("fma"))
    return &x86_64_v4::unary_f32;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &x86_64_v3::unary_f32;
#endif
  return nullptr;
}
}  // namespace

bool set_isa_dispatch(bool enabled) { return g_enabled.exchange(enabled); }

bool unary_f32_simd(int op, const float* x, float* y, int64_t n) {
  static const Loop loop = best_loop();
  return loop && g_enabled.load(std::memory_order_relaxed) && loop(op, x, y, n);
}
}  // namespace baseline
}  // namespace layerkit::core
