// Kernels compiled once per SIMD instruction set (x86-64-v3: AVX2 + FMA; x86-64-v4: AVX-512; the
// bodies are in simd_isa.h, compiled by simd_v3.cpp and simd_v4.cpp) and chosen at run time by
// simd.cpp for the best set the CPU has. The default build targets any x86-64 (SSE2).
#pragma once
#include <cstdint>

namespace layerkit::core {

// A direct convolution: NHWC input (N, H, W, C), HWIO filter (KH, KW, C, O), one group, output
// (N, OH, OW, O); strides, top/left pads and dilations.
struct DirectConv {
  int64_t N, H, W, C, KH, KW, O, OH, OW, sh, sw, pt, pl, dh, dw;
};

// y = act(conv(x, w) + bias) in float32 by a direct loop vectorized over the output channels,
// for convolutions with few input values per output (C * KH * KW small, a first layer), where
// im2col + GEMM runs with a tiny inner dimension. bias may be null; act is a U code or -1.
// False when no SIMD build serves this geometry (the caller then runs im2col + GEMM).
bool conv_direct_f32(const DirectConv& q, const float* x, const float* w, const float* bias, int act, float* y);
// dw = the filter gradient of that convolution for its output gradient g, by direct loops with
// one tap's C * O sums in registers: first layers (C of 2 to 4), whose im2col GEMM has only
// KH * KW * C rows. False when no SIMD build serves C and O (then the caller runs the GEMM).
bool conv_direct_filter_f32(const DirectConv& q, const float* x, const float* g, float* dw);
// Whether conv_direct_filter_f32 serves C input and O output channels on this CPU.
bool conv_direct_filter_serves(int64_t c, int64_t o);
// A float32 GEMM for the recurrent kernels' per-step products, a few dozen rows against a matrix
// that stays the same for every step: packed once (gemm_pack_f32) in panels two vector
// registers wide, it streams from cache with no per-call packing, where the BLAS repacks it at
// every call (W6's step product: 189 GFLOP/s on one core here, the BLAS 112). Tried for ordinary
// GEMMs with B up to 1 MB (read in place): 10-40% faster than the BLAS alone, but level or
// slower inside training steps, where B is no longer in cache; those keep the BLAS.
// The panel width on this CPU, 0 without a SIMD build (then the caller uses the BLAS).
int64_t gemm_packed_width();
// packed = B (K x N; B[k][n] = b[k * ldb + n], or b[n * ldb + k] when tb) in panels of
// gemm_packed_width() columns; N a multiple of it; K * N floats.
void gemm_pack_f32(bool tb, int64_t K, int64_t N, const float* b, int64_t ldb, float* packed);
// C[M x N] = A @ B, or C += A @ B with `accumulate` (row-major, leading dims lda and ldc), for B
// packed by gemm_pack_f32.
void gemm_packed_f32(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* packed, float* c,
                     int64_t ldc, bool accumulate);
// Whether conv_direct_f32 has a loop for `out_channels` on this CPU (8, 16, 32 or 64 with AVX2).
bool conv_direct_serves(int64_t out_channels);

}  // namespace layerkit::core
