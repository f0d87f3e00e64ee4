// Run-time dispatch of the SIMD kernels (simd.h): the float32 exp, tanh and sigmoid loops of
// elementwise_ops.h and the direct convolution. The default build targets any x86-64, whose
// 4-wide SSE2 code without fused multiply-adds runs these ~3x slower than AVX2 + FMA and ~6x
// slower than AVX-512; simd_v3.cpp and simd_v4.cpp compile them for those, and the best the CPU
// has is taken.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "elementwise_ops.h"
#include "simd.h"

namespace layerkit::core {
#if defined(__x86_64__) && defined(__GNUC__)
// The kernels each SIMD compilation (simd_isa.h) defines in its own namespace.
#define LK_ISA_KERNELS                                                                                        \
  bool unary_f32(int op, const float* x, float* y, int64_t n);                                              \
  bool conv_direct_f32(const DirectConv& q, const float* x, const float* w, const float* bias, int act,     \
                       float* y);                                                                           \
  bool conv_direct_filter_f32(const DirectConv& q, const float* x, const float* g, float* dw);              \
  void gemm_packed_f32(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* packed,   \
                       float* c, int64_t ldc, bool accumulate);                                             \
  int64_t gemm_packed_width();
namespace x86_64_v3 {
LK_ISA_KERNELS
}  // namespace x86_64_v3
namespace x86_64_v4 {
LK_ISA_KERNELS
}  // namespace x86_64_v4
#undef LK_ISA_KERNELS
#endif

inline namespace baseline {
namespace {
std::atomic<int> g_cap{4};  // the highest level the dispatch may take (tests lower it)

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
  return std::min(cpu, g_cap.load(std::memory_order_relaxed));
}
}  // namespace

int set_isa_level(int cap) { return g_cap.exchange(cap >= 4 ? 4 : cap >= 3 ? 3 : 0); }

int isa_level() { return enabled_level(); }

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

int64_t gemm_packed_width() {
#if defined(__x86_64__) && defined(__GNUC__)
  switch (enabled_level()) {
    case 4: return x86_64_v4::gemm_packed_width();
    case 3: return x86_64_v3::gemm_packed_width();
  }
#endif
  return 0;
}

void gemm_pack_f32(bool tb, int64_t K, int64_t N, const float* b, int64_t ldb, float* packed) {
  const int64_t w = gemm_packed_width();
  for (int64_t p = 0; p < N / w; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < w; ++j) {
        const int64_t n = p * w + j;
        packed[(p * K + k) * w + j] = tb ? b[n * ldb + k] : b[k * ldb + n];
      }
}

void gemm_packed_f32(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* packed, float* c,
                     int64_t ldc, bool accumulate) {
#if defined(__x86_64__) && defined(__GNUC__)
  switch (enabled_level()) {
    case 4: return x86_64_v4::gemm_packed_f32(M, N, K, a, lda, packed, c, ldc, accumulate);
    case 3: return x86_64_v3::gemm_packed_f32(M, N, K, a, lda, packed, c, ldc, accumulate);
  }
#endif
}
}  // namespace layerkit::core
