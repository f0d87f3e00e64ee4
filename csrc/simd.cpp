// Run-time dispatch of the SIMD kernels (simd.h): the float32 exp, tanh and sigmoid loops of
// elementwise_ops.h and the direct convolution. The default build targets any x86-64, whose
// 4-wide SSE2 code without fused multiply-adds runs these ~3x slower than AVX2 + FMA and ~6x
// slower than AVX-512; simd_v3.cpp and simd_v4.cpp compile them for those, and the best the CPU
// has is taken.
#include <atomic>
#include <cstdint>

#include "elementwise_ops.h"
#include "simd.h"

namespace layerkit::core {
#if defined(__x86_64__) && defined(__GNUC__)
namespace x86_64_v3 {
bool unary_f32(int op, const float* x, float* y, int64_t n);
bool conv_direct_f32(const DirectConv& q, const float* x, const float* w, const float* bias, int act, float* y);
bool conv_direct_filter_f32(const DirectConv& q, const float* x, const float* g, float* dw);
}  // namespace x86_64_v3
namespace x86_64_v4 {
bool unary_f32(int op, const float* x, float* y, int64_t n);
bool conv_direct_f32(const DirectConv& q, const float* x, const float* w, const float* bias, int act, float* y);
bool conv_direct_filter_f32(const DirectConv& q, const float* x, const float* g, float* dw);
}  // namespace x86_64_v4
#endif

inline namespace baseline {
namespace {
std::atomic<bool> g_enabled{true};

// The instruction set level the CPU supports: 4 (x86-64-v4), 3 (x86-64-v3) or 0 (baseline).
int level() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("fma"))
    return 4;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 3;
#endif
  return 0;
}

int enabled_level() {
  static const int cpu = level();
  return g_enabled.load(std::memory_order_relaxed) ? cpu : 0;
}
}  // namespace

bool set_isa_dispatch(bool enabled) { return g_enabled.exchange(enabled); }

bool unary_f32_simd(int op, const float* x, float* y, int64_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
  switch (enabled_level()) {
    case 4: return x86_64_v4::unary_f32(op, x, y, n);
    case 3: return x86_64_v3::unary_f32(op, x, y, n);
  }
#endif
  return false;
}
}  // namespace baseline

bool conv_direct_serves(int64_t o) { return enabled_level() > 0 && (o == 8 || o == 16 || o == 32 || o == 64); }

bool conv_direct_f32(const DirectConv& q, const float* x, const float* w, const float* bias, int act, float* y) {
#if defined(__x86_64__) && defined(__GNUC__)
  switch (enabled_level()) {
    case 4: return x86_64_v4::conv_direct_f32(q, x, w, bias, act, y);
    case 3: return x86_64_v3::conv_direct_f32(q, x, w, bias, act, y);
  }
#endif
  return false;
}

bool conv_direct_filter_serves(int64_t c, int64_t o) {
  return enabled_level() > 0 && c >= 2 && c <= 4 && (o == 8 || o == 16 || o == 32 || (o == 64 && c == 2)) && c * o <= 128;
}

bool conv_direct_filter_f32(const DirectConv& q, const float* x, const float* g, float* dw) {
#if defined(__x86_64__) && defined(__GNUC__)
  switch (enabled_level()) {
    case 4: return x86_64_v4::conv_direct_filter_f32(q, x, g, dw);
    case 3: return x86_64_v3::conv_direct_filter_f32(q, x, g, dw);
  }
#endif
  return false;
}
}  // namespace layerkit::core
