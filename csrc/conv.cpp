// Convolution kernels, channels_last (NHWC): conv2d and its exact input and filter gradients,
// with strides, explicit padding, dilation and groups. The dense math is im2col + BLAS GEMM over
// chunks of output pixels; chunks run on OpenMP threads, each calling a one-thread GEMM.
// Depthwise-style convs (one input channel per group) take a direct loop vectorized over channels.
#include <omp.h>

#include "common.h"
#include "elementwise_ops.h"
#include "executor.h"
#include "gemm.h"
#include "nhwc.h"
#include "simd.h"

#include <nanobind/stl/array.h>
#include <nanobind/stl/pair.h>

#include <algorithm>
#include <array>
#include <memory>
#include <type_traits>

namespace layerkit::core {
namespace {

// About this many bytes of im2col columns per chunk: the chunk's GEMM operand stays in L2.
constexpr int64_t kColBytes = 3 << 18;
// Minimum GEMM rows per chunk, so that packing the weight matrix stays a small cost.
constexpr int64_t kMinChunkRows = 128;
// Below this many flops a conv runs on one thread.
constexpr double kParallelFlops = 1 << 22;

// The shared float dtype of two arguments; type_error naming both when they differ.
DType common_dtype(const char* op, const Array& a, const char* an, const Array& b, const char* bn) {
  DType da = dtype_of(a.dtype(), op), db = dtype_of(b.dtype(), op);
  if (da != db)
    throw nb::type_error((std::string(op) + ": arguments '" + an + "' and '" + bn +
                          "' must have the same dtype, received " + dtype_name(da) + " and " +
                          dtype_name(db)).c_str());
  return da;
}

struct Geom {
  int64_t N, H, W, C, KH, KW, Cg, O, OH, OW, sh, sw, pt, pl, dh, dw, G, Og;
  int64_t Kg() const { return KH * KW * Cg; }  // im2col columns of one group
  int64_t K() const { return KH * KW * C; }    // im2col row length, all groups
  bool pointwise() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && OH == H && OW == W && pt == 0 && pl == 0; }
};

// Validates hyper-parameters and the input/filter shapes xs (N,H,W,C) and ws (KH,KW,C/groups,O).
Geom make_geom(const char* op, const char* xn, const I4& xs, const char* wn, const I4& ws,
               const I2& st, const I4& pad, const I2& dil, int64_t groups) {
  auto arg = [&](const char* n) { return std::string("argument '") + n + "' expected "; };
  if (st[0] < 1 || st[1] < 1) fail(op, arg("strides") + "two positive ints, received " + tuple_str(st));
  if (dil[0] < 1 || dil[1] < 1) fail(op, arg("dilation") + "two positive ints, received " + tuple_str(dil));
  for (int64_t p : pad)
    if (p < 0) fail(op, arg("padding") + "four non-negative ints (top, bottom, left, right), received " + tuple_str(pad));
  if (groups < 1) fail(op, arg("groups") + "a positive int, received " + std::to_string(groups));
  if (xs[0] < 0 || xs[1] < 1 || xs[2] < 1 || xs[3] < 1)
    fail(op, arg(xn) + "shape (N, H, W, C) with H, W, C >= 1, received " + tuple_str(xs));
  if (ws[0] < 1 || ws[1] < 1 || ws[2] < 1 || ws[3] < 1)
    fail(op, arg(wn) + "shape (KH, KW, C/groups, O) with every dim >= 1, received " + tuple_str(ws));
  if (xs[3] != groups * ws[2])
    fail(op, arg(wn) + "shape[2] * groups == C (C = " + std::to_string(xs[3]) + " from " + xn + " " +
                 tuple_str(xs) + ", groups = " + std::to_string(groups) + "), received " + tuple_str(ws));
  if (ws[3] % groups != 0)
    fail(op, arg(wn) + "an output-channel count (shape[3]) divisible by groups = " +
                 std::to_string(groups) + ", received " + tuple_str(ws));
  Geom q{xs[0], xs[1], xs[2], xs[3], ws[0], ws[1], ws[2], ws[3], 0, 0, st[0], st[1],
         pad[0], pad[2], dil[0], dil[1], groups, ws[3] / groups};
  const int64_t eh = q.dh * (q.KH - 1) + 1, ew = q.dw * (q.KW - 1) + 1;
  const int64_t ph = q.H + pad[0] + pad[1], pw = q.W + pad[2] + pad[3];
  if (ph < eh || pw < ew)
    fail(op, arg(xn) + "a padded spatial size of at least the dilated kernel " + tuple_str(I2{eh, ew}) +
                 ", received " + tuple_str(I2{q.H, q.W}) + " with padding " + tuple_str(pad));
  q.OH = (ph - eh) / q.sh + 1;
  q.OW = (pw - ew) / q.sw + 1;
  return q;
}

// Output pixels per chunk: ~kColBytes of columns, >= kMinChunkRows and >= min_rows, yet small
// enough that every thread gets a few chunks when the problem allows it.
int64_t chunk_rows(const Geom& q, size_t elem, int64_t min_rows) {
  const int64_t pixels = std::max<int64_t>(1, q.N * q.OH * q.OW), nt = omp_get_max_threads();
  int64_t per = kColBytes / std::max<int64_t>(1, q.K() * int64_t(elem));
  per = std::min(per, (pixels + 4 * nt - 1) / (4 * nt));
  per = std::max({per, kMinChunkRows, min_rows});
  return std::min(per, pixels);
}

// Calls body(chunk, thread, buffer) for chunk = first, first+step, ... < end: on OpenMP threads
// when there is enough work, else serially.
template <class T, class F>
void for_chunks(int64_t first, int64_t end, int64_t step, int64_t buf_elems, double flops, F&& body) {
  const int64_t count = end > first ? (end - first + step - 1) / step : 0, be = std::max<int64_t>(buf_elems, 1);
  const int nt = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), count));
  blas_on_caller();
  if (nt < 2 || flops < kParallelFlops) {
    std::unique_ptr<T[]> buf(new T[be]);
    for (int64_t i = 0; i < count; ++i) body(first + i * step, 0, buf.get());
    return;
  }
  std::unique_ptr<T[]> bufs(new T[be * nt]);
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
#pragma omp for schedule(static)  // fixed chunk-to-thread map: deterministic sums
    for (int64_t i = 0; i < count; ++i) body(first + i * step, t, bufs.get() + t * be);
  }
}

// Walks cells r0 <= r < r1 of a flattened (n, a, b) grid with dims (A, B): f(r, n, a, b).
template <class F>
inline void for_grid(int64_t A, int64_t B, int64_t r0, int64_t r1, F&& f) {
  int64_t n = r0 / (A * B), a = r0 / B % A, b = r0 % B;
  for (int64_t r = r0; r < r1; ++r) {
    f(r, n, a, b);
    if (++b == B) {
      b = 0;
      if (++a == A) a = 0, ++n;
    }
  }
}

// cols[r - r0][g][kh][kw][cg] for output pixels [r0, r1); zeros where the window is padding.
template <class T>
void im2col(const Geom& q, const T* x, int64_t r0, int64_t r1, T* cols) {
  const int64_t Kg = q.Kg(), K = q.K(), C = q.C, Cg = q.Cg;
  const bool runs = q.G == 1 && q.dw == 1;  // a kernel row is one contiguous run of x
  for_grid(q.OH, q.OW, r0, r1, [&](int64_t r, int64_t n, int64_t oh, int64_t ow) {
    T* row = cols + (r - r0) * K;
    const int64_t iw0 = ow * q.sw - q.pl;
    for (int64_t kh = 0; kh < q.KH; ++kh) {
      const int64_t ih = oh * q.sh - q.pt + kh * q.dh;
      T* dst = row + kh * q.KW * Cg;
      if (ih < 0 || ih >= q.H) {
        for (int64_t g = 0; g < q.G; ++g) std::memset(dst + g * Kg, 0, q.KW * Cg * sizeof(T));
        continue;
      }
      const T* src = x + (n * q.H + ih) * q.W * C;
      if (runs) {
        const int64_t a = std::clamp<int64_t>(-iw0, 0, q.KW), b = std::clamp<int64_t>(q.W - iw0, a, q.KW);
        if (a > 0) std::memset(dst, 0, a * C * sizeof(T));
        std::memcpy(dst + a * C, src + (iw0 + a) * C, (b - a) * C * sizeof(T));
        if (b < q.KW) std::memset(dst + b * C, 0, (q.KW - b) * C * sizeof(T));
        continue;
      }
      for (int64_t kw = 0; kw < q.KW; ++kw) {
        const int64_t iw = iw0 + kw * q.dw;
        const bool in = iw >= 0 && iw < q.W;
        for (int64_t g = 0; g < q.G; ++g) {
          T* d = dst + g * Kg + kw * Cg;
          if (in) std::memcpy(d, src + iw * C + g * Cg, Cg * sizeof(T));
          else std::memset(d, 0, Cg * sizeof(T));
        }
      }
    }
  });
}

// dx += col2im(cols) for output pixels [r0, r1): the adjoint of im2col (scatter-add).
template <class T>
void col2im_add(const Geom& q, const T* cols, int64_t r0, int64_t r1, T* dx) {
  const int64_t Kg = q.Kg(), K = q.K(), C = q.C, Cg = q.Cg;
  const bool runs = q.G == 1 && q.dw == 1;
  for_grid(q.OH, q.OW, r0, r1, [&](int64_t r, int64_t n, int64_t oh, int64_t ow) {
    const T* row = cols + (r - r0) * K;
    const int64_t iw0 = ow * q.sw - q.pl;
    for (int64_t kh = 0; kh < q.KH; ++kh) {
      const int64_t ih = oh * q.sh - q.pt + kh * q.dh;
      if (ih < 0 || ih >= q.H) continue;
      const T* src = row + kh * q.KW * Cg;
      T* dst = dx + (n * q.H + ih) * q.W * C;
      if (runs) {
        const int64_t a = std::clamp<int64_t>(-iw0, 0, q.KW), b = std::clamp<int64_t>(q.W - iw0, a, q.KW);
        T* __restrict d = dst + (iw0 + a) * C;
        const T* __restrict s = src + a * C;
        for (int64_t i = 0, e = (b - a) * C; i < e; ++i) d[i] += s[i];
        continue;
      }
      for (int64_t kw = 0; kw < q.KW; ++kw) {
        const int64_t iw = iw0 + kw * q.dw;
        if (iw < 0 || iw >= q.W) continue;
        for (int64_t g = 0; g < q.G; ++g) {
          T* __restrict d = dst + iw * C + g * Cg;
          const T* __restrict s = src + g * Kg + kw * Cg;
          for (int64_t c = 0; c < Cg; ++c) d[c] += s[c];
        }
      }
    }
  });
}

// out = act(conv(x, w) + bias) by im2col + one GEMM per group and chunk (x itself is the column
// matrix for 1x1); each chunk's bias and activation run right after its GEMM, while it is in cache.
template <class T>
void gemm_forward(const Geom& q, const T* x, const T* w, T* out, const T* bias, int act) {
  const int64_t pixels = q.N * q.OH * q.OW, per = chunk_rows(q, sizeof(T), 1), Kg = q.Kg(), K = q.K();
  const bool direct = q.pointwise();
  for_chunks<T>(0, (pixels + per - 1) / per, 1, direct ? 0 : per * K, 2.0 * pixels * K * q.Og,
                [&](int64_t c, int, T* buf) {
    const int64_t r0 = c * per, r1 = std::min(pixels, r0 + per);
    const T* cols = direct ? x + r0 * q.C : buf;
    if (!direct) im2col(q, x, r0, r1, buf);
    for (int64_t g = 0; g < q.G; ++g)
      blas_gemm(false, false, r1 - r0, q.Og, Kg, cols + g * Kg, K, w + g * q.Og, q.O, T(0), out + r0 * q.O + g * q.Og, q.O);
    bias_act_rows(out + r0 * q.O, r1 - r0, q.O, q.O, bias, act);
  });
}

// Chunk length (pixels) from which chunks i and i+2 never touch the same dx cell: the chunk
// between them then spans enough output rows (or, for kernels one row high, columns).
int64_t col2im_min_rows(const Geom& q) {
  const int64_t rows_apart = q.dh * (q.KH - 1) / q.sh, cols_apart = q.dw * (q.KW - 1) / q.sw;
  return rows_apart == 0 ? std::max<int64_t>(1, cols_apart) : (rows_apart + 1) * q.OW;
}

// dx = conv^T(g, w): per chunk, columns = g @ w^T, scatter-added into dx. Chunks whose dx cells
// can overlap never run together: even chunks first, then odd ones.
template <class T>
void gemm_backprop_input(const Geom& q, const T* g, const T* w, T* dx) {
  const int64_t pixels = q.N * q.OH * q.OW, Kg = q.Kg(), K = q.K(), dxn = q.N * q.H * q.W * q.C;
  const int64_t per = chunk_rows(q, sizeof(T), col2im_min_rows(q)), nchunks = (pixels + per - 1) / per;
  const bool direct = q.pointwise();
  const double flops = 2.0 * pixels * K * q.Og;
  if (!direct) {
#pragma omp parallel for schedule(static) if (dxn > 16 * kParallelGrain)
    for (int64_t i = 0; i < dxn; i += kParallelGrain) std::memset(dx + i, 0, sizeof(T) * std::min(kParallelGrain, dxn - i));
  }
  auto body = [&](int64_t c, int, T* buf) {
    const int64_t r0 = c * per, r1 = std::min(pixels, r0 + per);
    T* cols = direct ? dx + r0 * q.C : buf;
    for (int64_t gi = 0; gi < q.G; ++gi)
      blas_gemm(false, true, r1 - r0, Kg, q.Og, g + r0 * q.O + gi * q.Og, q.O, w + gi * q.Og, q.O, T(0), cols + gi * Kg, K);
    if (!direct) col2im_add(q, buf, r0, r1, dx);
  };
  const int64_t buf = direct ? 0 : per * K;
  for_chunks<T>(0, nchunks, direct ? 1 : 2, buf, flops, body);
  if (!direct) for_chunks<T>(1, nchunks, 2, buf, flops, body);
}

// dw = sum over chunks of cols^T @ g, accumulated per thread then reduced.
template <class T>
void gemm_backprop_filter(const Geom& q, const T* x, const T* g, T* dw) {
  const int64_t pixels = q.N * q.OH * q.OW, per = chunk_rows(q, sizeof(T), 1), Kg = q.Kg(), K = q.K();
  const int64_t wsize = Kg * q.O, nt = omp_get_max_threads();
  const bool direct = q.pointwise();
  std::vector<T> acc(wsize * (nt - 1), T(0));
  std::memset(dw, 0, sizeof(T) * wsize);
  for_chunks<T>(0, (pixels + per - 1) / per, 1, direct ? 0 : per * K, 2.0 * pixels * K * q.Og,
                [&](int64_t c, int t, T* buf) {
    const int64_t r0 = c * per, r1 = std::min(pixels, r0 + per);
    const T* cols = direct ? x + r0 * q.C : buf;
    if (!direct) im2col(q, x, r0, r1, buf);
    T* dst = t == 0 ? dw : acc.data() + (t - 1) * wsize;
    for (int64_t gi = 0; gi < q.G; ++gi)
      blas_gemm(true, false, Kg, q.Og, r1 - r0, cols + gi * Kg, K, g + r0 * q.O + gi * q.Og, q.O, T(1), dst + gi * q.Og, q.O);
  });
  for (int64_t t = 0; t + 1 < nt; ++t)
    for (int64_t i = 0; i < wsize; ++i) dw[i] += acc[t * wsize + i];
}

// A float32 conv with one group runs as a direct loop in SIMD registers (simd.h, when the CPU has
// AVX2) if its rows have at least kDirectMinCols output columns (the loop computes 4 adjacent
// pixels at a time) and few enough input values per output (C * KH * KW): up to 1152 for 64
// output channels, 288 for fewer (each loaded input value then feeds fewer multiply-adds). In
// those ranges it measured 200-310 GFLOP/s here where im2col + GEMM reached 75-240: a first
// layer (27 values per output for RGB 3x3) keeps the GEMM's inner dimension tiny, and the direct
// loop skips writing and re-reading the im2col columns. Beyond them (e.g. 576 values into 32
// channels) the two ran level.
constexpr int64_t kDirectMinCols = 16;

int64_t direct_max_k(int64_t out_channels) { return out_channels >= 64 ? 1152 : 288; }

// Channels the depthwise loops sum in registers before one store.
constexpr int64_t kDwBlock = 16;

// Valid kernel taps along one axis: for each coordinate i, pairs (k, j) in taps[start[i], start[i+1]).
struct Taps {
  std::vector<int64_t> start;
  std::vector<std::array<int64_t, 2>> taps;
};

// Forward direction (out -> in): for output o, taps k with j = o*s - p + k*d inside [0, n_in).
Taps taps_fwd(int64_t n_out, int64_t n_in, int64_t K, int64_t s, int64_t p, int64_t d) {
  Taps t;
  for (int64_t o = 0; o < n_out; ++o) {
    t.start.push_back(int64_t(t.taps.size()));
    for (int64_t k = 0; k < K; ++k)
      if (int64_t j = o * s - p + k * d; j >= 0 && j < n_in) t.taps.push_back({k, j});
  }
  t.start.push_back(int64_t(t.taps.size()));
  return t;
}

// Backward direction (in -> out): for input i, taps k whose output j = (i + p - k*d) / s exists.
Taps taps_bwd(int64_t n_in, int64_t n_out, int64_t K, int64_t s, int64_t p, int64_t d) {
  Taps t;
  for (int64_t i = 0; i < n_in; ++i) {
    t.start.push_back(int64_t(t.taps.size()));
    for (int64_t k = 0; k < K; ++k)
      if (int64_t u = i + p - k * d; u >= 0 && u % s == 0 && u / s < n_out) t.taps.push_back({k, u / s});
  }
  t.start.push_back(int64_t(t.taps.size()));
  return t;
}

// o[c] = sum_t a[t][c / M] * b[t][c] for c < O (a rows hold O / M channels), summed in registers.
template <class T>
void taps_dot(T* __restrict o, const T* const* a, const T* const* b, int64_t nt, int64_t O, int64_t M) {
  int64_t c0 = 0;
  for (; c0 + kDwBlock <= O; c0 += kDwBlock) {
    T acc[kDwBlock] = {};
    if (M == 1) {
      for (int64_t t = 0; t < nt; ++t)
        for (int64_t j = 0; j < kDwBlock; ++j) acc[j] += a[t][c0 + j] * b[t][c0 + j];
    } else {
      int64_t idx[kDwBlock];
      for (int64_t j = 0; j < kDwBlock; ++j) idx[j] = (c0 + j) / M;
      for (int64_t t = 0; t < nt; ++t)
        for (int64_t j = 0; j < kDwBlock; ++j) acc[j] += a[t][idx[j]] * b[t][c0 + j];
    }
    for (int64_t j = 0; j < kDwBlock; ++j) o[c0 + j] = acc[j];
  }
  for (; c0 < O; ++c0) {
    T s = 0;
    for (int64_t t = 0; t < nt; ++t) s += a[t][c0 / M] * b[t][c0];
    o[c0] = s;
  }
}

// o[c] = sum_t sum_m a[t][c*M + m] * b[t][c*M + m] for c < C.
template <class T>
void taps_dot_reduce(T* __restrict o, const T* const* a, const T* const* b, int64_t nt, int64_t C, int64_t M) {
  if (M == 1) return taps_dot(o, a, b, nt, C, 1);
  for (int64_t c = 0; c < C; ++c) {
    T s = 0;
    for (int64_t t = 0; t < nt; ++t)
      for (int64_t m = 0; m < M; ++m) s += a[t][c * M + m] * b[t][c * M + m];
    o[c] = s;
  }
}

// acc[c] += sum_i x[i*xs + c / M] * g[i*O + c] over i < cnt, for c < O: one tap of the filter
// gradient, summed in registers per block of channels.
template <class T>
void segment_dot(T* __restrict acc, const T* x, int64_t xs, const T* g, int64_t cnt, int64_t O, int64_t M) {
  int64_t c0 = 0;
  for (; c0 + kDwBlock <= O; c0 += kDwBlock) {
    T s[kDwBlock] = {};
    if (M == 1) {
      for (int64_t i = 0; i < cnt; ++i)
        for (int64_t j = 0; j < kDwBlock; ++j) s[j] += x[i * xs + c0 + j] * g[i * O + c0 + j];
    } else {
      int64_t idx[kDwBlock];
      for (int64_t j = 0; j < kDwBlock; ++j) idx[j] = (c0 + j) / M;
      for (int64_t i = 0; i < cnt; ++i)
        for (int64_t j = 0; j < kDwBlock; ++j) s[j] += x[i * xs + idx[j]] * g[i * O + c0 + j];
    }
    for (int64_t j = 0; j < kDwBlock; ++j) acc[c0 + j] += s[j];
  }
  for (; c0 < O; ++c0)
    for (int64_t i = 0; i < cnt; ++i) acc[c0] += x[i * xs + c0 / M] * g[i * O + c0];
}

// Pixels per OpenMP task of the depthwise loops (each pixel costs KH*KW*O multiply-adds).
int64_t dw_block(const Geom& q) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, q.O * q.KH * q.KW)); }

// Depthwise forward (C/groups == 1, so output o = c*M + m reads input channel c), per output pixel,
// with the bias and activation of each block of pixels applied right after it.
template <class T>
void dw_forward(const Geom& q, const T* x, const T* w, T* out, const T* bias, int act) {
  const int64_t pixels = q.N * q.OH * q.OW, B = dw_block(q);
  const Taps rows = taps_fwd(q.OH, q.H, q.KH, q.sh, q.pt, q.dh), cols = taps_fwd(q.OW, q.W, q.KW, q.sw, q.pl, q.dw);
#pragma omp parallel if (pixels * q.O * q.KH * q.KW > kParallelGrain)
  {
    std::vector<const T*> xp(q.KH * q.KW), wp(q.KH * q.KW);
#pragma omp for schedule(static)
    for (int64_t r0 = 0; r0 < pixels; r0 += B) {
      for_grid(q.OH, q.OW, r0, std::min(pixels, r0 + B), [&](int64_t r, int64_t n, int64_t oh, int64_t ow) {
        int64_t nt = 0;
        for (int64_t a = rows.start[oh]; a < rows.start[oh + 1]; ++a)
          for (int64_t b = cols.start[ow]; b < cols.start[ow + 1]; ++b, ++nt) {
            const auto [kh, ih] = rows.taps[a];
            const auto [kw, iw] = cols.taps[b];
            xp[nt] = x + ((n * q.H + ih) * q.W + iw) * q.C;
            wp[nt] = w + (kh * q.KW + kw) * q.O;
          }
        taps_dot(out + r * q.O, xp.data(), wp.data(), nt, q.O, q.Og);
      });
      const int64_t r1 = std::min(pixels, r0 + B);
      bias_act_rows(out + r0 * q.O, r1 - r0, q.O, q.O, bias, act);
    }
  }
}

// Depthwise input gradient, gathered per input pixel so threads never share a dx cell.
template <class T>
void dw_backprop_input(const Geom& q, const T* g, const T* w, T* dx) {
  const int64_t pixels = q.N * q.H * q.W, B = dw_block(q);
  const Taps rows = taps_bwd(q.H, q.OH, q.KH, q.sh, q.pt, q.dh), cols = taps_bwd(q.W, q.OW, q.KW, q.sw, q.pl, q.dw);
#pragma omp parallel if (pixels * q.O * q.KH * q.KW > kParallelGrain)
  {
    std::vector<const T*> gp(q.KH * q.KW), wp(q.KH * q.KW);
#pragma omp for schedule(static)
    for (int64_t p0 = 0; p0 < pixels; p0 += B)
      for_grid(q.H, q.W, p0, std::min(pixels, p0 + B), [&](int64_t p, int64_t n, int64_t ih, int64_t iw) {
        int64_t nt = 0;
        for (int64_t a = rows.start[ih]; a < rows.start[ih + 1]; ++a)
          for (int64_t b = cols.start[iw]; b < cols.start[iw + 1]; ++b, ++nt) {
            const auto [kh, oh] = rows.taps[a];
            const auto [kw, ow] = cols.taps[b];
            gp[nt] = g + ((n * q.OH + oh) * q.OW + ow) * q.O;
            wp[nt] = w + (kh * q.KW + kw) * q.O;
          }
        taps_dot_reduce(dx + p * q.C, gp.data(), wp.data(), nt, q.C, q.Og);
      });
  }
}

// Depthwise filter gradient: per-thread (KH, KW, 1, O) accumulators over segments of output rows
// (each tap sums a segment in registers), then summed across threads.
template <class T>
void dw_backprop_filter(const Geom& q, const T* x, const T* g, T* dw) {
  const int64_t lines = q.N * q.OH, wsize = q.KH * q.KW * q.O;
  const int64_t seg = std::min(q.OW, std::max<int64_t>(8, dw_block(q))), nseg = (q.OW + seg - 1) / seg;
  const Taps rows = taps_fwd(q.OH, q.H, q.KH, q.sh, q.pt, q.dh);
  std::vector<int64_t> ow_lo(q.KW), ow_hi(q.KW);  // outputs whose column tap kw lands inside the image
  for (int64_t kw = 0; kw < q.KW; ++kw) {
    int64_t lo = 0, hi = q.OW;
    while (lo < hi && lo * q.sw - q.pl + kw * q.dw < 0) ++lo;
    while (hi > lo && (hi - 1) * q.sw - q.pl + kw * q.dw >= q.W) --hi;
    ow_lo[kw] = lo, ow_hi[kw] = hi;
  }
  const int nt = lines * q.OW * q.O * q.KH * q.KW > kParallelGrain ? omp_get_max_threads() : 1;
  std::vector<T> acc(wsize * nt, T(0));
#pragma omp parallel num_threads(nt)
  {
    T* a = acc.data() + omp_get_thread_num() * wsize;
#pragma omp for schedule(static)
    for (int64_t task = 0; task < lines * nseg; ++task) {
      const int64_t l = task / nseg, n = l / q.OH, oh = l % q.OH, s0 = task % nseg * seg, s1 = std::min(q.OW, s0 + seg);
      for (int64_t t = rows.start[oh]; t < rows.start[oh + 1]; ++t) {
        const auto [kh, ih] = rows.taps[t];
        for (int64_t kw = 0; kw < q.KW; ++kw) {
          const int64_t lo = std::max(s0, ow_lo[kw]), hi = std::min(s1, ow_hi[kw]);
          if (lo >= hi) continue;
          const T* xr = x + ((n * q.H + ih) * q.W + lo * q.sw - q.pl + kw * q.dw) * q.C;
          segment_dot(a + (kh * q.KW + kw) * q.O, xr, q.sw * q.C, g + (l * q.OW + lo) * q.O, hi - lo, q.O, q.Og);
        }
      }
    }
  }
  for (int64_t i = 0; i < wsize; ++i) {
    T s = 0;
    for (int t = 0; t < nt; ++t) s += acc[t * wsize + i];
    dw[i] = s;
  }
}

// The three convolutions on raw buffers, the one implementation behind both the eager kernels and
// the native steps: depthwise-style geometries take the direct loops, the rest im2col + GEMM. The
// forward takes an optional epilogue: a bias (O,) and an activation code (-1 for none).
// Whether a float32 conv of geometry q takes the direct loop (see kDirectMinCols).
bool takes_direct(const Geom& q) {
  return q.G == 1 && q.Cg > 1 && q.OW >= kDirectMinCols && q.K() <= direct_max_k(q.O) && conv_direct_serves(q.O);
}

// Whether a float32 conv's filter gradient takes the direct loop: one group of 2 to 4 input
// channels (a first layer), where the im2col GEMM has only KH * KW * C rows.
bool takes_direct_filter(const Geom& q) { return q.G == 1 && conv_direct_filter_serves(q.C, q.O); }

template <class T>
void conv_forward(const Geom& q, const T* x, const T* w, T* y, const T* bias = nullptr, int act = -1) {
  if constexpr (std::is_same_v<T, float>) {
    if (takes_direct(q) &&
        conv_direct_f32({q.N, q.H, q.W, q.C, q.KH, q.KW, q.O, q.OH, q.OW, q.sh, q.sw, q.pt, q.pl, q.dh, q.dw}, x, w,
                        bias, act, y))
      return;
  }
  if (q.Cg == 1) dw_forward(q, x, w, y, bias, act);
  else gemm_forward(q, x, w, y, bias, act);
}

template <class T>
void conv_backprop_input(const Geom& q, const T* g, const T* w, T* dx) {
  if (q.Cg == 1) dw_backprop_input(q, g, w, dx);
  else gemm_backprop_input(q, g, w, dx);
}

template <class T>
void conv_backprop_filter(const Geom& q, const T* x, const T* g, T* dw) {
  if constexpr (std::is_same_v<T, float>) {
    if (takes_direct_filter(q) &&
        conv_direct_filter_f32({q.N, q.H, q.W, q.C, q.KH, q.KW, q.O, q.OH, q.OW, q.sh, q.sw, q.pt, q.pl, q.dh, q.dw}, x,
                               g, dw))
      return;
  }
  if (q.Cg == 1) dw_backprop_filter(q, x, g, dw);
  else gemm_backprop_filter(q, x, g, dw);
}

// act(conv2d(x, w) + bias) for conv2d and conv2d_bias; bias is null for conv2d.
nb::object conv2d_run(const char* op, const Array& x, const Array& w, const Array* bias, I2 strides, I4 padding,
                      I2 dilation, int64_t groups, int64_t act) {
  const DType dt = common_dtype(op, x, "x", w, "w");
  const Geom q = make_geom(op, "x", rank4(op, x, "x", "(N, H, W, C)"), "w",
                           rank4(op, w, "w", "(KH, KW, C/groups, O)"), strides, padding, dilation, groups);
  if (bias) {
    common_dtype(op, x, "x", *bias, "bias");
    if (bias->ndim() != 1 || int64_t(bias->shape(0)) != q.O)
      fail(op, "argument 'bias' expected shape (" + std::to_string(q.O) + ",) (the filter's output channels), received " +
                   tuple_str(shape_of(*bias)));
  }
  if (!valid_activation(act)) fail(op, "argument 'activation' expected an elementwise op code or -1, received " + std::to_string(act));
  LK_DISPATCH_FLOAT(dt, op, {
    T* out;
    auto res = new_array<T>({size_t(q.N), size_t(q.OH), size_t(q.OW), size_t(q.O)}, &out);
    const T* xp = static_cast<const T*>(x.data());
    const T* wp = static_cast<const T*>(w.data());
    const T* bp = bias ? static_cast<const T*>(bias->data()) : nullptr;
    {
      nb::gil_scoped_release nogil;
      conv_forward(q, xp, wp, out, bp, int(act));
    }
    return res;
  });
}

// conv2d(x (N,H,W,C), w (KH,KW,C/groups,O)) -> (N,OH,OW,O), cross-correlation as in Keras.
nb::object conv2d(const Array& x, const Array& w, I2 strides, I4 padding, I2 dilation, int64_t groups) {
  return conv2d_run("conv2d", x, w, nullptr, strides, padding, dilation, groups, -1);
}

// conv2d_bias(x, w, bias (O,), ..., activation) = act(conv2d(x, w) + bias) in one pass over the
// output: the graph's conv epilogue fusion. activation is an elementwise op code or -1.
nb::object conv2d_bias(const Array& x, const Array& w, const Array& bias, I2 strides, I4 padding, I2 dilation,
                       int64_t groups, int64_t activation) {
  return conv2d_run("conv2d_bias", x, w, &bias, strides, padding, dilation, groups, activation);
}

// conv2d_backprop_input(g (N,OH,OW,O), w, input_shape) -> dx (N,H,W,C): the gradient of conv2d wrt x.
nb::object conv2d_backprop_input(const Array& g, const Array& w, I4 input_shape, I2 strides, I4 padding,
                                 I2 dilation, int64_t groups) {
  const char* op = "conv2d_backprop_input";
  const DType dt = common_dtype(op, g, "g", w, "w");
  const I4 gs = rank4(op, g, "g", "(N, OH, OW, O)");
  const Geom q = make_geom(op, "input_shape", input_shape, "w", rank4(op, w, "w", "(KH, KW, C/groups, O)"),
                           strides, padding, dilation, groups);
  check_shape(op, "g", gs, {q.N, q.OH, q.OW, q.O}, "(the conv2d output for input_shape " + tuple_str(input_shape) + ")");
  LK_DISPATCH_FLOAT(dt, op, {
    T* dx;
    auto res = new_array<T>({size_t(q.N), size_t(q.H), size_t(q.W), size_t(q.C)}, &dx);
    const T* gp = static_cast<const T*>(g.data());
    const T* wp = static_cast<const T*>(w.data());
    {
      nb::gil_scoped_release nogil;
      conv_backprop_input(q, gp, wp, dx);
    }
    return res;
  });
}

// conv2d_backprop_filter(x (N,H,W,C), g (N,OH,OW,O), filter_shape) -> dw (KH,KW,C/groups,O).
nb::object conv2d_backprop_filter(const Array& x, const Array& g, I4 filter_shape, I2 strides, I4 padding,
                                  I2 dilation, int64_t groups) {
  const char* op = "conv2d_backprop_filter";
  const DType dt = common_dtype(op, x, "x", g, "g");
  const I4 gs = rank4(op, g, "g", "(N, OH, OW, O)");
  const Geom q = make_geom(op, "x", rank4(op, x, "x", "(N, H, W, C)"), "filter_shape", filter_shape,
                           strides, padding, dilation, groups);
  check_shape(op, "g", gs, {q.N, q.OH, q.OW, q.O}, "(the conv2d output of x and filter_shape " + tuple_str(filter_shape) + ")");
  LK_DISPATCH_FLOAT(dt, op, {
    T* dw;
    auto res = new_array<T>({size_t(q.KH), size_t(q.KW), size_t(q.Cg), size_t(q.O)}, &dw);
    const T* xp = static_cast<const T*>(x.data());
    const T* gp = static_cast<const T*>(g.data());
    {
      nb::gil_scoped_release nogil;
      conv_backprop_filter(q, xp, gp, dw);
    }
    return res;
  });
}

// ---- native steps: the same typed functions on the plan's slots -------------------------------
// ints: [stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, dil_h, dil_w, groups] (+ activation)
struct ConvAttrs {
  I2 strides;
  I4 padding;
  I2 dilation;
  int64_t groups;
};

ConvAttrs conv_attrs(const StepSpec& s, size_t extra = 0) {
  expect_ints(s, 9 + extra);
  const auto& i = s.ints;
  return {{i[0], i[1]}, {i[2], i[3], i[4], i[5]}, {i[6], i[7]}, i[8]};
}

// The shared float dtype of two operands and the result; type_error naming the step otherwise.
DType step_dtype(const StepSpec& s, const Slot* a, const char* an, const Slot* b, const char* bn, const Slot* out) {
  expect_float(s, a, an);
  if (b->dtype != a->dtype)
    throw nb::type_error((s.kernel + ": arguments '" + an + "' and '" + bn + "' must have the same dtype, received " +
                          dtype_name(a->dtype) + " and " + dtype_name(b->dtype)).c_str());
  expect_dtype(s, out, a->dtype, "the result");
  return a->dtype;
}

// conv2d: in x (N,H,W,C), w (KH,KW,C/groups,O); out y (N,OH,OW,O). conv2d_bias also takes a bias
// (O,) and one more int, the activation code (-1 for none).
StepFn conv2d_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  const bool with_bias = s.kernel == "conv2d_bias";
  expect_arity(s, with_bias ? 3 : 2, 1);
  const ConvAttrs a = conv_attrs(s, with_bias ? 1 : 0);
  if (with_bias && !valid_activation(s.ints[9]))
    fail(op, "the activation code must be an elementwise op code or -1, received " + std::to_string(s.ints[9]));
  const int act = with_bias ? int(s.ints[9]) : -1;
  const Slot *x = s.in[0], *w = s.in[1], *bias = with_bias ? s.in[2] : nullptr, *y = s.out[0];
  const DType dt = step_dtype(s, x, "x", w, "w", y);
  const Geom q = make_geom(op, "x", rank4(op, x->shape, "x", "(N, H, W, C)"), "w",
                           rank4(op, w->shape, "w", "(KH, KW, C/groups, O)"), a.strides, a.padding, a.dilation, a.groups);
  check_shape(op, "y", rank4(op, y->shape, "y", "(N, OH, OW, O)"), {q.N, q.OH, q.OW, q.O}, "(the conv2d output)");
  if (bias) {
    expect_dtype(s, bias, dt, "the bias");
    expect_shape(s, bias, {q.O}, "bias");
  }
  StepFn fn;
  LK_DISPATCH_FLOAT(dt, op, fn = [q, x, w, bias, y, act]() {
    conv_forward(q, x->as<T>(), w->as<T>(), y->as<T>(), bias ? bias->as<T>() : nullptr, act);
  });
  return fn;
}

// in: g (N,OH,OW,O), w (KH,KW,C/groups,O), ignored extras; out: dx, whose shape is the input shape
StepFn conv2d_backprop_input_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_min_arity(s, 2, 1);
  const ConvAttrs a = conv_attrs(s);
  const Slot *g = s.in[0], *w = s.in[1], *dx = s.out[0];
  const DType dt = step_dtype(s, g, "g", w, "w", dx);
  const I4 gs = rank4(op, g->shape, "g", "(N, OH, OW, O)");
  const I4 xs = rank4(op, dx->shape, "dx", "(N, H, W, C)");
  const Geom q = make_geom(op, "dx", xs, "w", rank4(op, w->shape, "w", "(KH, KW, C/groups, O)"), a.strides,
                           a.padding, a.dilation, a.groups);
  check_shape(op, "g", gs, {q.N, q.OH, q.OW, q.O}, "(the conv2d output for input shape " + tuple_str(xs) + ")");
  StepFn fn;
  LK_DISPATCH_FLOAT(dt, op, fn = [q, g, w, dx]() { conv_backprop_input(q, g->as<T>(), w->as<T>(), dx->as<T>()); });
  return fn;
}

// in: x (N,H,W,C), g (N,OH,OW,O); out: dw, whose shape is the filter shape (KH,KW,C/groups,O)
StepFn conv2d_backprop_filter_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_arity(s, 2, 1);
  const ConvAttrs a = conv_attrs(s);
  const Slot *x = s.in[0], *g = s.in[1], *dw = s.out[0];
  const DType dt = step_dtype(s, x, "x", g, "g", dw);
  const I4 gs = rank4(op, g->shape, "g", "(N, OH, OW, O)");
  const I4 ws = rank4(op, dw->shape, "dw", "(KH, KW, C/groups, O)");
  const Geom q = make_geom(op, "x", rank4(op, x->shape, "x", "(N, H, W, C)"), "dw", ws, a.strides, a.padding,
                           a.dilation, a.groups);
  check_shape(op, "g", gs, {q.N, q.OH, q.OW, q.O}, "(the conv2d output of x and filter shape " + tuple_str(ws) + ")");
  StepFn fn;
  LK_DISPATCH_FLOAT(dt, op, fn = [q, x, g, dw]() { conv_backprop_filter(q, x->as<T>(), g->as<T>(), dw->as<T>()); });
  return fn;
}

}  // namespace

void bind_conv(nb::module_& m) {
  m.def("_conv_takes_direct", [](I4 x_shape, I4 w_shape, I2 strides, I4 padding, I2 dilation, int64_t groups) {
    const Geom q = make_geom("conv2d", "x", x_shape, "w", w_shape, strides, padding, dilation, groups);
    return std::make_pair(takes_direct(q), takes_direct_filter(q));
  }, nb::arg("x_shape"), nb::arg("w_shape"), nb::arg("strides"), nb::arg("padding"), nb::arg("dilation"),
        nb::arg("groups"),
        "Whether a float32 conv2d of this geometry runs the direct SIMD loops on this CPU, (forward, filter "
        "gradient) (tests).");
  def_kernel(m, "conv2d", &conv2d, nb::arg("x"), nb::arg("w"), nb::arg("strides"), nb::arg("padding"),
             nb::arg("dilation"), nb::arg("groups"));
  def_kernel(m, "conv2d_backprop_input", &conv2d_backprop_input, nb::arg("g"), nb::arg("w"),
             nb::arg("input_shape"), nb::arg("strides"), nb::arg("padding"), nb::arg("dilation"),
             nb::arg("groups"));
  def_kernel(m, "conv2d_backprop_filter", &conv2d_backprop_filter, nb::arg("x"), nb::arg("g"),
             nb::arg("filter_shape"), nb::arg("strides"), nb::arg("padding"), nb::arg("dilation"),
             nb::arg("groups"));
  def_kernel(m, "conv2d_bias", &conv2d_bias, nb::arg("x"), nb::arg("w"), nb::arg("bias"), nb::arg("strides"),
             nb::arg("padding"), nb::arg("dilation"), nb::arg("groups"), nb::arg("activation"));
  register_step("conv2d", &conv2d_step);
  register_step("conv2d_bias", &conv2d_step);
  register_step("conv2d_backprop_input", &conv2d_backprop_input_step);
  register_step("conv2d_backprop_filter", &conv2d_backprop_filter_step);
}

}  // namespace layerkit::core
