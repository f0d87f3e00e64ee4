// The bodies of the SIMD kernels (see simd.h), compiled by simd_v3.cpp and simd_v4.cpp after
// they set the target and LK_ISA, the inline namespace that keeps each compilation's copies of
// elementwise_ops.h's inline functions apart. Nothing here may use a std:: container or
// algorithm: an out-of-line copy compiled for AVX could be picked by the linker for baseline
// callers (`nm` on the objects shows only functions in the LK_ISA namespace).
#pragma once
#include "elementwise_ops.h"
#include "simd.h"

namespace layerkit::core::LK_ISA {
namespace {
template <U op>
__attribute__((noinline)) void run(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = unary_apply<op, float>(x[i]);
}

// The direct convolution computes LK_DIRECT_PIX adjacent output pixels times up to 32 output
// channels at a time: their sums fill most of the vector registers (12 of AVX2's 16, 24 of
// AVX-512's 32), so each filter vector loaded from L1 serves every pixel of the block and the loop
// is bound by multiply-adds, not by loads.
constexpr int64_t kPix = LK_DIRECT_PIX;

// acc[p][o] = sum over the window of x * w[..., ob + o] for P adjacent output pixels starting at
// column ow0, all of whose windows lie inside the row's columns; OB output channels from ob.
template <int O, int OB, int64_t P>
inline void conv_direct_pixels(const DirectConv& q, const float* x, const float* w, int64_t n, int64_t oh,
                               int64_t ow0, int ob, float (&acc)[P][OB]) {
  for (int64_t kh = 0; kh < q.KH; ++kh) {
    const int64_t ih = oh * q.sh - q.pt + kh * q.dh;
    if (ih < 0 || ih >= q.H) continue;
    for (int64_t kw = 0; kw < q.KW; ++kw) {
      const int64_t iw0 = ow0 * q.sw - q.pl + kw * q.dw;
      const float* wp = w + (kh * q.KW + kw) * q.C * O + ob;
      const float* xp = x + ((n * q.H + ih) * q.W + iw0) * q.C;
      for (int64_t c = 0; c < q.C; ++c) {
        for (int64_t p = 0; p < P; ++p) {
          const float xv = xp[p * q.sw * q.C + c];
          for (int o = 0; o < OB; ++o) acc[p][o] += xv * wp[c * O + o];
        }
      }
    }
  }
}

// One output row (n, oh) of a direct convolution: blocks of kPix pixels whose windows stay inside
// the input's columns, the pixels near the edges one at a time.
template <int O>
void conv_direct_row(const DirectConv& q, const float* x, const float* w, const float* bias, int act, int64_t row,
                     float* y) {
  const int64_t n = row / q.OH, oh = row % q.OH;
  float* yr = y + row * q.OW * O;
  // columns whose whole window is inside: ow * sw - pl >= 0 and ow * sw - pl + (KW - 1) * dw < W
  const int64_t lo = std::min<int64_t>(q.OW, (q.pl + q.sw - 1) / q.sw);
  const int64_t span = q.W - 1 - (q.KW - 1) * q.dw + q.pl;
  const int64_t hi = span < 0 ? lo : std::max<int64_t>(lo, std::min<int64_t>(q.OW, span / q.sw + 1));
  auto store = [&](const float* acc, int64_t ow) {
    float* out = yr + ow * O;  // (plain loops: no std:: template emitted out of line for this ISA)
    for (int o = 0; o < O; ++o) out[o] = bias ? acc[o] + bias[o] : acc[o];
  };
  auto single = [&](int64_t ow) {
    float acc[1][O] = {};
    for (int64_t kh = 0; kh < q.KH; ++kh) {
      const int64_t ih = oh * q.sh - q.pt + kh * q.dh;
      if (ih < 0 || ih >= q.H) continue;
      for (int64_t kw = 0; kw < q.KW; ++kw) {
        const int64_t iw = ow * q.sw - q.pl + kw * q.dw;
        if (iw < 0 || iw >= q.W) continue;
        const float* xp = x + ((n * q.H + ih) * q.W + iw) * q.C;
        const float* wp = w + (kh * q.KW + kw) * q.C * O;
        for (int64_t c = 0; c < q.C; ++c)
          for (int o = 0; o < O; ++o) acc[0][o] += xp[c] * wp[c * O + o];
      }
    }
    store(acc[0], ow);
  };
  constexpr int OB = O < 32 ? O : 32;
  int64_t ow = 0;
  for (; ow < lo; ++ow) single(ow);
  for (; ow + kPix <= hi; ow += kPix) {
    for (int ob = 0; ob < O; ob += OB) {
      float acc[kPix][OB] = {};
      conv_direct_pixels<O, OB, kPix>(q, x, w, n, oh, ow, ob, acc);
      for (int64_t p = 0; p < kPix; ++p) {
        float* out = yr + (ow + p) * O + ob;
        for (int o = 0; o < OB; ++o) out[o] = bias ? acc[p][o] + bias[ob + o] : acc[p][o];
      }
    }
  }
  for (; ow < q.OW; ++ow) single(ow);
  if (act >= 0) unary_array<float>(static_cast<U>(act), yr, yr, q.OW * O);
}

template <int O>
void conv_direct(const DirectConv& q, const float* x, const float* w_in, const float* bias, int act, float* y) {
  const int64_t rows = q.N * q.OH;
  // the filter, read once per pixel block, in a 64-byte aligned copy: vector loads then never
  // straddle cache lines, whatever the caller's alignment (the timing otherwise varied by 35%
  // from one allocation to the next)
  const size_t bytes = (size_t(q.KH * q.KW * q.C * O) * sizeof(float) + 63) / 64 * 64;
  float* w = static_cast<float*>(aligned_alloc(64, bytes));
  if (w == nullptr) throw std::bad_alloc();
  for (int64_t i = 0, n = q.KH * q.KW * q.C * O; i < n; ++i) w[i] = w_in[i];
#pragma omp parallel for schedule(static) if (rows > 1 && rows * q.OW * q.KH * q.KW * q.C * O > (1 << 16))
  for (int64_t row = 0; row < rows; ++row) conv_direct_row<O>(q, x, w, bias, act, row, y);
  free(w);
}
// The filter gradient of one output row (n, oh): dw[kh][kw][c][o] += sum over the row's pixels of
// x[n, ih, iw, c] * g[n, oh, ow, o], per kernel tap, with the C * O sums in registers (C and O
// compile-time constants).
template <int C, int O>
void conv_direct_filter_row(const DirectConv& q, const float* x, const float* g, int64_t row, float* dw) {
  const int64_t n = row / q.OH, oh = row % q.OH;
  const float* grow = g + row * q.OW * O;
  for (int64_t kh = 0; kh < q.KH; ++kh) {
    const int64_t ih = oh * q.sh - q.pt + kh * q.dh;
    if (ih < 0 || ih >= q.H) continue;
    const float* xrow = x + (n * q.H + ih) * q.W * C;
    for (int64_t kw = 0; kw < q.KW; ++kw) {
      // output columns whose input column ow * sw - pl + kw * dw lies inside the row
      const int64_t a = q.pl - kw * q.dw, b = q.W - 1 + q.pl - kw * q.dw;
      const int64_t lo = a <= 0 ? 0 : (a + q.sw - 1) / q.sw;
      const int64_t hi = b < 0 ? 0 : std::min<int64_t>(q.OW, b / q.sw + 1);
      float acc[C][O] = {};
      for (int64_t ow = lo; ow < hi; ++ow) {
        const float* gp = grow + ow * O;
        const float* xp = xrow + (ow * q.sw - q.pl + kw * q.dw) * C;
        for (int c = 0; c < C; ++c) {
          const float xv = xp[c];
          for (int o = 0; o < O; ++o) acc[c][o] += xv * gp[o];
        }
      }
      float* d = dw + (kh * q.KW + kw) * C * O;
      for (int c = 0; c < C; ++c)
        for (int o = 0; o < O; ++o) d[c * O + o] += acc[c][o];
    }
  }
}

// The filter gradient over every row: per-thread partial sums over a fixed share of the rows,
// added in thread order (deterministic). Memory comes from C functions: no std:: template may be
// emitted out of line for this ISA, where the linker could hand it to baseline callers.
template <int C, int O>
void conv_direct_filter(const DirectConv& q, const float* x, const float* g, float* dw) {
  const int64_t rows = q.N * q.OH, size = q.KH * q.KW * C * O;
  const int nt = rows > 1 && rows * q.OW * q.KH * q.KW * C * O > (1 << 16) ? omp_get_max_threads() : 1;
  float* partial = nt > 1 ? static_cast<float*>(calloc(size_t(size) * (nt - 1), sizeof(float))) : nullptr;
  if (nt > 1 && partial == nullptr) throw std::bad_alloc();
  for (int64_t i = 0; i < size; ++i) dw[i] = 0.f;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    float* mine = t == 0 ? dw : partial + (t - 1) * size;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; ++row) conv_direct_filter_row<C, O>(q, x, g, row, mine);
  }
  for (int t = 1; t < nt; ++t)
    for (int64_t i = 0; i < size; ++i) dw[i] += partial[(t - 1) * size + i];
  free(partial);
}

// ---- a small GEMM against a packed matrix (the recurrent kernels' per-step products) -----------
// LK_VEC floats per vector register; the packed panels are two vectors wide.
typedef float vecf __attribute__((vector_size(LK_VEC * 4), aligned(4)));
constexpr int64_t kPanel = 2 * LK_VEC;

// C[MR rows from m, one panel] (+)= A[MR rows] @ panel: the MR x 2 vector sums stay in registers
// while the panel streams through once (K rows of kPanel floats, contiguous).
template <int MR>
inline void gemm_panel_rows(int64_t K, const float* a, int64_t lda, const float* panel, float* c, int64_t ldc,
                            bool accumulate) {
  vecf c0[MR], c1[MR];
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = vecf{};
  for (int64_t k = 0; k < K; ++k) {
    const vecf b0 = *reinterpret_cast<const vecf*>(panel + k * kPanel);
    const vecf b1 = *reinterpret_cast<const vecf*>(panel + k * kPanel + LK_VEC);
    for (int i = 0; i < MR; ++i) {
      const float av = a[i * lda + k];
      c0[i] += av * b0;
      c1[i] += av * b1;
    }
  }
  for (int i = 0; i < MR; ++i) {
    vecf* out = reinterpret_cast<vecf*>(c + i * ldc);
    if (accumulate) {
      out[0] += c0[i];
      out[1] += c1[i];
    } else {
      out[0] = c0[i];
      out[1] = c1[i];
    }
  }
}
}  // namespace

// y = op(x) for the ops this compilation serves; false for the others.
bool unary_f32(int op, const float* x, float* y, int64_t n) {
  switch (static_cast<U>(op)) {
    case U::Exp: run<U::Exp>(x, y, n); return true;
    case U::Tanh: run<U::Tanh>(x, y, n); return true;
    case U::Sigmoid: run<U::Sigmoid>(x, y, n); return true;
    default: return false;
  }
}

// The direct filter gradient for C in {2, 3, 4} input channels and O in {8, 16, 32, 64} outputs
// with C * O <= 128 (the sums of one tap fit the registers); false otherwise.
bool conv_direct_filter_f32(const DirectConv& q, const float* x, const float* g, float* dw) {
#define LK_CASE(c, o) \
  if (q.C == c && q.O == o) return conv_direct_filter<c, o>(q, x, g, dw), true;
  LK_CASE(2, 8) LK_CASE(2, 16) LK_CASE(2, 32) LK_CASE(2, 64) LK_CASE(3, 8) LK_CASE(3, 16) LK_CASE(3, 32)
  LK_CASE(4, 8) LK_CASE(4, 16) LK_CASE(4, 32)
#undef LK_CASE
  return false;
}

// The direct convolution for O in {8, 16, 32, 64}; false for other channel counts.
bool conv_direct_f32(const DirectConv& q, const float* x, const float* w, const float* bias, int act, float* y) {
  switch (q.O) {
    case 8: conv_direct<8>(q, x, w, bias, act, y); return true;
    case 16: conv_direct<16>(q, x, w, bias, act, y); return true;
    case 32: conv_direct<32>(q, x, w, bias, act, y); return true;
    case 64: conv_direct<64>(q, x, w, bias, act, y); return true;
    default: return false;
  }
}
// C (+)= A @ B for B packed by gemm_pack_f32 in panels of gemm_packed_width() columns (N a
// multiple of it): rows in blocks of LK_GEMM_MR, then one at a time.
void gemm_packed_f32(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* packed, float* c,
                     int64_t ldc, bool accumulate) {
  constexpr int MR = LK_GEMM_MR;
  for (int64_t p = 0; p < N / kPanel; ++p) {
    const float* panel = packed + p * K * kPanel;
    int64_t m = 0;
    for (; m + MR <= M; m += MR) gemm_panel_rows<MR>(K, a + m * lda, lda, panel, c + m * ldc + p * kPanel, ldc, accumulate);
    for (; m < M; ++m) gemm_panel_rows<1>(K, a + m * lda, lda, panel, c + m * ldc + p * kPanel, ldc, accumulate);
  }
}

int64_t gemm_packed_width() { return kPanel; }
}  // namespace layerkit::core::LK_ISA
