// The LSTM and GRU recurrences as one kernel per direction (the fused paths of lk.layers.LSTM
// and lk.layers.GRU, as cuDNN is Keras's on a GPU). The input projection x @ W + b of every step
// is one GEMM done before, by the caller; what remains is inherently sequential: per step one GEMM h @ R over the threads
// and one pass computing the gates and the cell. The backward pass runs the steps in reverse and
// returns the pre-activation gradients of every step; the weight gradients are then single large
// GEMMs over all steps (done by the caller with ordinary ops).
//
// Layouts (processing order s = 0..T-1 reads input step t = s, or T-1-s when reverse):
//   zx  (B, T, 4U)  input projections, gate blocks i, f, g, o (Keras's order: i, f, c, o)
//   out (T, B, 6U)  per processed step (time-major, so each step is one contiguous block): h, c,
//                   then the activations i, f, g, o kept for backward
//   g   (T, B, 6U)  gradient of out; its gate columns are ignored (saved activations). The
//                   native step also takes just the last processed step's columns [c0, c1) of
//                   the states, (B, c1 - c0), when nothing else has a gradient (LastStep)
//   dz  (B, T, 4U)  per processed step the gate pre-activation gradients; with `initial`, one
//                   more row per batch (B, T + 1, 4U) whose first U columns hold dc0, the next dh0
//   mask (B, T)     optional, bool, in input order: at a False step a row keeps its previous states
//                   (as Keras's masked RNNs do); the step's gate gradients are then zero and the
//                   states' gradients pass through to the previous step unchanged
#include <omp.h>

#include "common.h"
#include "elementwise_ops.h"
#include "executor.h"
#include "gemm.h"
#include "nhwc.h"
#include "simd.h"

#include <algorithm>
#include <vector>

namespace layerkit::core {
namespace {

struct LstmDims {
  int64_t B, T, U;
};

// Checks the operand shapes of both kernels: zx (B, T, 4U), h0 and c0 (B, U), r (U, 4U).
LstmDims lstm_dims(const char* op, const std::vector<int64_t>& zx, const std::vector<int64_t>& h0,
                   const std::vector<int64_t>& c0, const std::vector<int64_t>& r) {
  if (zx.size() != 3 || zx[2] % 4 != 0 || zx[1] < 1)
    fail(op, "argument 'zx' expected shape (batch, time >= 1, 4 * units), received " + tuple_str(zx));
  const int64_t B = zx[0], T = zx[1], U = zx[2] / 4;
  const std::vector<int64_t> state{B, U}, rec{U, 4 * U};
  if (h0 != state) fail(op, "argument 'h0' expected shape " + tuple_str(state) + ", received " + tuple_str(h0));
  if (c0 != state) fail(op, "argument 'c0' expected shape " + tuple_str(state) + ", received " + tuple_str(c0));
  if (r != rec) fail(op, "argument 'r' expected shape " + tuple_str(rec) + " (units, 4 * units), received " + tuple_str(r));
  return {B, T, U};
}

// The dims of a backward kernel from the forward's time-major output (T, B, 6U) and the state and
// recurrent kernel it was computed with.
LstmDims lstm_out_dims(const char* op, const std::vector<int64_t>& out, const std::vector<int64_t>& c0,
                       const std::vector<int64_t>& r) {
  if (out.size() != 3 || out[2] % 6 != 0)
    fail(op, "argument 'out' expected shape (time, batch, 6 * units), received " + tuple_str(out));
  return lstm_dims(op, {out[1], out[0], out[2] / 6 * 4}, c0, c0, r);
}

// Whether the batch rows are shared out over the threads (each thread then runs its rows through
// the whole sequence: the rows of an LSTM never meet). A transcendental-heavy loop is worth
// threads early.
bool parallel_rows(const LstmDims& d) { return d.B > 1 && d.B * d.U * 8 >= kParallelGrain / 4; }

// The recurrent kernel as the per-step products' B operand: B = r (K x N), or r^T when
// `transposed` (r is then N x K). In float32 with a SIMD build it is packed once per sequence
// (simd.h: the BLAS would repack it at every step); otherwise the BLAS reads r.
template <class T>
struct StepMatrix {
  const T* r;
  int64_t K, N;
  bool transposed;
  std::vector<float> packed;

  StepMatrix(const T* r_, int64_t K_, int64_t N_, bool transposed_) : r(r_), K(K_), N(N_), transposed(transposed_) {
    if constexpr (std::is_same_v<T, float>) {
      const int64_t w = gemm_packed_width();
      if (w > 0 && N % w == 0) {
        packed.resize(size_t(K * N));
        gemm_pack_f32(transposed, K, N, r, transposed ? K : N, packed.data());
      }
    }
  }

  // C[rows x N] = A[rows x K] @ B (+ C when accumulate), on the calling thread.
  void multiply(int64_t rows, const T* a, int64_t lda, T* c, int64_t ldc, bool accumulate) const {
    if (rows <= 0) return;
    if constexpr (std::is_same_v<T, float>) {
      if (!packed.empty()) return gemm_packed_f32(rows, N, K, a, lda, packed.data(), c, ldc, accumulate);
    }
    blas_gemm(false, transposed, rows, N, K, a, lda, r, transposed ? K : N, T(accumulate ? 1 : 0), c, ldc);
  }
};

// The gradient of the states when only the last processed step's columns [c0, c1) of them have
// one (a classifier reading the last h): rows of `width` state columns for that step, and one
// row of zeros for every other step.
template <class T>
struct LastStep {
  std::vector<T> rows, zeros;
  LastStep(const T* g, int64_t B, int64_t width, int64_t c0, int64_t c1) : rows(B * width, T(0)), zeros(width, T(0)) {
    for (int64_t b = 0; b < B; ++b) std::copy_n(g + b * (c1 - c0), c1 - c0, rows.data() + b * width + c0);
  }
  const T* row(int64_t s, int64_t S, int64_t b, int64_t width) const {
    return s == S - 1 ? rows.data() + b * width : zeros.data();
  }
};

template <class T>
void add_into(T* __restrict y, const T* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] += x[j];
}

// One batch row of a forward step, after the gates' activations are in z = (i, f, g, o):
// c = f * c_prev + i * g, h = o * tanh(c). Separate functions with restrict pointers: the
// compiler vectorizes these loops (inlined into the OpenMP loop it did not).
template <class T>
void cell_forward_row(const T* __restrict z, const T* __restrict cp, T* __restrict h, T* __restrict c, int64_t n) {
  const T *i = z, *f = z + n, *g = z + 2 * n, *o = z + 3 * n;
  for (int64_t u = 0; u < n; ++u) c[u] = f[u] * cp[u] + i[u] * g[u];
  unary_array<T>(U::Tanh, c, h, n);
  for (int64_t u = 0; u < n; ++u) h[u] *= o[u];
}

// One batch row of a backward step: the gate pre-activation gradients z of the step from the
// gradients reaching h and c (gh + dh, gc + dc), with t = tanh(c); dc becomes the gradient
// reaching the previous step's c.
template <class T>
void cell_backward_row(const T* __restrict a, const T* __restrict t, const T* __restrict cp, const T* __restrict gh,
                       const T* __restrict gc, const T* __restrict dh, T* __restrict dc, T* __restrict z, int64_t n) {
  const T *i = a, *f = a + n, *g = a + 2 * n, *o = a + 3 * n;  // the saved activations
  for (int64_t u = 0; u < n; ++u) {
    const T h_grad = gh[u] + dh[u];
    const T c_grad = gc[u] + dc[u] + h_grad * o[u] * (T(1) - t[u] * t[u]);
    dc[u] = c_grad * f[u];
    z[u] = c_grad * g[u] * i[u] * (T(1) - i[u]);
    z[n + u] = c_grad * cp[u] * f[u] * (T(1) - f[u]);
    z[2 * n + u] = c_grad * i[u] * (T(1) - g[u] * g[u]);
    z[3 * n + u] = h_grad * t[u] * o[u] * (T(1) - o[u]);
  }
}

template <class T>
void lstm_forward(const LstmDims& d, const T* zx, const T* h0, const T* c0, const T* r, const bool* mask, bool reverse,
                  T* out) {
  const int64_t B = d.B, S = d.T, U = d.U, G = 4 * U, O = 6 * U;
  std::vector<T> z(B * G);
  blas_on_caller();
  const StepMatrix<T> rm(r, U, G, false);
  // each thread owns a share of the batch rows for the whole sequence: per step it multiplies its
  // rows of h by r and runs their cells at once, with no barrier between the two
  const int nt = parallel_rows(d) ? int(std::min<int64_t>(omp_get_max_threads(), B)) : 1;
#pragma omp parallel num_threads(nt)
  {
    const int th = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t b0 = B * th / n, b1 = B * (th + 1) / n;
    for (int64_t s = 0; s < S; ++s) {
      const int64_t t = reverse ? S - 1 - s : s;
      const T* hp = s ? out + (s - 1) * B * O : h0;  // h of the previous step, rows O (or U) apart
      const int64_t ld = s ? O : U;
      rm.multiply(b1 - b0, hp + b0 * ld, ld, z.data() + b0 * G, G, false);
      for (int64_t b = b0; b < b1; ++b) {
        T* zb = z.data() + b * G;
        add_into(zb, zx + (b * S + t) * G, G);
        unary_array<T>(U::Sigmoid, zb, zb, 2 * U);  // i, f
        unary_array<T>(U::Tanh, zb + 2 * U, zb + 2 * U, U);  // g
        unary_array<T>(U::Sigmoid, zb + 3 * U, zb + 3 * U, U);  // o
        T* ob = out + (s * B + b) * O;
        const T* cp = s ? out + ((s - 1) * B + b) * O + U : c0 + b * U;
        if (mask && !mask[b * S + t]) {  // a masked step: the row keeps its states
          std::copy_n(hp + b * ld, U, ob);
          std::copy_n(cp, U, ob + U);
        } else {
          cell_forward_row(zb, cp, ob, ob + U, U);
        }
        std::copy_n(zb, G, ob + 2 * U);
      }
    }
  }
}

template <class T>
void lstm_backward(const LstmDims& d, const T* gin, const T* out, const T* c0, const T* r, const bool* mask,
                   bool reverse, bool initial, T* dz, const LastStep<T>* last = nullptr) {
  const int64_t B = d.B, S = d.T, U = d.U, G = 4 * U, O = 6 * U, Z = (S + initial) * G;
  std::vector<T> dh(B * U, T(0)), dc(B * U, T(0)), tc(B * U);
  blas_on_caller();
  const StepMatrix<T> rt(r, G, U, true);  // r^T
  // as in the forward pass, each thread owns a share of the batch rows for the whole sequence
  const int nt = parallel_rows(d) ? int(std::min<int64_t>(omp_get_max_threads(), B)) : 1;
#pragma omp parallel num_threads(nt)
  {
    const int th = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t b0 = B * th / n, b1 = B * (th + 1) / n;
    for (int64_t s = S - 1; s >= 0; --s) {
      const int64_t t = reverse ? S - 1 - s : s;
      for (int64_t b = b0; b < b1; ++b) {
        const T* gh = last ? last->row(s, S, b, 2 * U) : gin + (s * B + b) * O;  // then gc = gh + U
        T *dhb = dh.data() + b * U, *dcb = dc.data() + b * U, *dzb = dz + b * Z + s * G;
        if (mask && !mask[b * S + t]) {  // the states passed through: so do their gradients
          add_into(dhb, gh, U);
          add_into(dcb, gh + U, U);
          std::fill_n(dzb, G, T(0));
          continue;
        }
        const T* ob = out + (s * B + b) * O;
        const T* cp = s ? out + ((s - 1) * B + b) * O + U : c0 + b * U;
        T* th = tc.data() + b * U;
        unary_array<T>(U::Tanh, ob + U, th, U);
        cell_backward_row(ob + 2 * U, th, cp, gh, gh + U, dhb, dcb, dzb, U);
        if (mask) std::fill_n(dhb, U, T(0));  // the product below adds to the masked rows' carried dh
      }
      // the gradient reaching the previous step's h of these rows: dz_s @ r^T
      rt.multiply(b1 - b0, dz + b0 * Z + s * G, Z, dh.data() + b0 * U, U, mask != nullptr);
    }
  }
  for (int64_t b = 0; initial && b < B; ++b) {
    T* last = dz + b * Z + S * G;
    std::copy_n(dc.data() + b * U, U, last);
    std::copy_n(dh.data() + b * U, U, last + U);
    std::fill_n(last + 2 * U, 2 * U, T(0));
  }
}

// ---- GRU (reset_after: Keras's default and cuDNN's convention) ----------------------------------
// Layouts, as for the LSTM (processing order s reads input step t = s, or T-1-s when reverse):
//   xp  (B, T, 3U)  input projections x_t @ W + b_in, gate blocks z, r, h
//   out (T, B, 5U)  per processed step: h, then z, r, the candidate hh and the recurrent part of
//                   the candidate's pre-activation (h_prev @ R_h + b_rh), kept for backward
//   g   (T, B, 5U)  gradient of out; only its h columns are read
//   dz  (B, T [+ 1], 6U)  per processed step the gradients of the input projection (3U) and of
//                   the recurrent product h_prev @ R + b_r (3U); with `initial` one more row per
//                   batch whose first U columns hold dh0
//   mask (B, T)     optional, as for the LSTM

// Checks the GRU operands: xp (B, T, 3U), h0 (B, U), r (U, 3U), rb (3U).
LstmDims gru_dims(const char* op, const std::vector<int64_t>& xp, const std::vector<int64_t>& h0,
                  const std::vector<int64_t>& r, const std::vector<int64_t>& rb) {
  if (xp.size() != 3 || xp[2] % 3 != 0 || xp[1] < 1)
    fail(op, "argument 'xp' expected shape (batch, time >= 1, 3 * units), received " + tuple_str(xp));
  const int64_t B = xp[0], T = xp[1], U = xp[2] / 3;
  const std::vector<int64_t> state{B, U}, rec{U, 3 * U}, bias{3 * U};
  if (h0 != state) fail(op, "argument 'h0' expected shape " + tuple_str(state) + ", received " + tuple_str(h0));
  if (r != rec) fail(op, "argument 'r' expected shape " + tuple_str(rec) + " (units, 3 * units), received " + tuple_str(r));
  if (rb != bias) fail(op, "argument 'rb' expected shape " + tuple_str(bias) + ", received " + tuple_str(rb));
  return {B, T, U};
}

// The dims of a GRU backward kernel from the forward's time-major output (T, B, 5U).
LstmDims gru_out_dims(const char* op, const std::vector<int64_t>& out, const std::vector<int64_t>& h0,
                      const std::vector<int64_t>& r) {
  if (out.size() != 3 || out[2] % 5 != 0)
    fail(op, "argument 'out' expected shape (time, batch, 5 * units), received " + tuple_str(out));
  return gru_dims(op, {out[1], out[0], out[2] / 5 * 3}, h0, r, {out[2] / 5 * 3});
}

// One batch row of a GRU forward step: a = (z, r, h) pre-activations from the input, q the
// recurrent product h_prev @ R + rb; writes h, z, r, hh, q_h.
template <class T>
void gru_forward_row(T* __restrict a, const T* __restrict q, const T* __restrict hp, T* __restrict o, int64_t n) {
  for (int64_t u = 0; u < 2 * n; ++u) a[u] += q[u];
  unary_array<T>(U::Sigmoid, a, o + n, 2 * n);  // z, r
  const T* r = o + 2 * n;
  for (int64_t u = 0; u < n; ++u) a[2 * n + u] += r[u] * q[2 * n + u];
  unary_array<T>(U::Tanh, a + 2 * n, o + 3 * n, n);  // hh
  const T *z = o + n, *hh = o + 3 * n;
  for (int64_t u = 0; u < n; ++u) {
    o[u] = z[u] * hp[u] + (T(1) - z[u]) * hh[u];
    o[4 * n + u] = q[2 * n + u];
  }
}

// One batch row of a GRU backward step: from the gradient reaching h (gh + dh), the gradients of
// the input projection (dx) and of the recurrent product (dq); dh becomes the direct part of the
// gradient reaching h_prev (dh * z; the caller adds dq @ R^T).
template <class T>
void gru_backward_row(const T* __restrict o, const T* __restrict hp, const T* __restrict gh, T* __restrict dh,
                      T* __restrict dx, T* __restrict dq, int64_t n) {
  const T *z = o + n, *r = o + 2 * n, *hh = o + 3 * n, *qh = o + 4 * n;
  for (int64_t u = 0; u < n; ++u) {
    const T h_grad = gh[u] + dh[u];
    const T dz = h_grad * (hp[u] - hh[u]) * z[u] * (T(1) - z[u]);
    const T dpre = h_grad * (T(1) - z[u]) * (T(1) - hh[u] * hh[u]);
    const T dr = dpre * qh[u] * r[u] * (T(1) - r[u]);
    dx[u] = dz, dx[n + u] = dr, dx[2 * n + u] = dpre;
    dq[u] = dz, dq[n + u] = dr, dq[2 * n + u] = dpre * r[u];
    dh[u] = h_grad * z[u];
  }
}

template <class T>
void gru_forward(const LstmDims& d, const T* xp, const T* h0, const T* r, const T* rb, const bool* mask, bool reverse,
                 T* out) {
  const int64_t B = d.B, S = d.T, U = d.U, G = 3 * U, O = 5 * U;
  std::vector<T> q(B * G), a(B * G);
  blas_on_caller();
  const StepMatrix<T> rm(r, U, G, false);
  const int nt = parallel_rows(d) ? int(std::min<int64_t>(omp_get_max_threads(), B)) : 1;
#pragma omp parallel num_threads(nt)
  {
    const int th = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t b0 = B * th / n, b1 = B * (th + 1) / n;
    for (int64_t s = 0; s < S; ++s) {
      const int64_t t = reverse ? S - 1 - s : s;
      const T* hp = s ? out + (s - 1) * B * O : h0;
      const int64_t ld = s ? O : U;
      for (int64_t b = b0; b < b1; ++b) std::copy_n(rb, G, q.data() + b * G);
      rm.multiply(b1 - b0, hp + b0 * ld, ld, q.data() + b0 * G, G, true);
      for (int64_t b = b0; b < b1; ++b) {
        T* ab = a.data() + b * G;
        std::copy_n(xp + (b * S + t) * G, G, ab);
        T* ob = out + (s * B + b) * O;
        gru_forward_row(ab, q.data() + b * G, hp + b * ld, ob, U);
        if (mask && !mask[b * S + t]) std::copy_n(hp + b * ld, U, ob);  // a masked step keeps h
      }
    }
  }
}

template <class T>
void gru_backward(const LstmDims& d, const T* gin, const T* out, const T* h0, const T* r, const bool* mask, bool reverse,
                  bool initial, T* dz, const LastStep<T>* last = nullptr) {
  const int64_t B = d.B, S = d.T, U = d.U, G = 3 * U, O = 5 * U, W = 6 * U, Z = (S + initial) * W;
  std::vector<T> dh(B * U, T(0));
  blas_on_caller();
  const StepMatrix<T> rt(r, G, U, true);  // r^T
  const int nt = parallel_rows(d) ? int(std::min<int64_t>(omp_get_max_threads(), B)) : 1;
#pragma omp parallel num_threads(nt)
  {
    const int th = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t b0 = B * th / n, b1 = B * (th + 1) / n;
    for (int64_t s = S - 1; s >= 0; --s) {
      const int64_t t = reverse ? S - 1 - s : s;
      for (int64_t b = b0; b < b1; ++b) {
        const T* hp = s ? out + ((s - 1) * B + b) * O : h0 + b * U;
        T* row = dz + b * Z + s * W;
        const T* gh = last ? last->row(s, S, b, U) : gin + (s * B + b) * O;
        if (mask && !mask[b * S + t]) {  // h passed through: so does its gradient
          add_into(dh.data() + b * U, gh, U);
          std::fill_n(row, W, T(0));
          continue;
        }
        gru_backward_row(out + (s * B + b) * O, hp, gh, dh.data() + b * U, row, row + G, U);
      }
      // the gradient reaching h_prev through the recurrent product: dq_s @ r^T, added to dh * z
      rt.multiply(b1 - b0, dz + b0 * Z + s * W + G, Z, dh.data() + b0 * U, U, true);
    }
  }
  for (int64_t b = 0; initial && b < B; ++b) {
    T* last = dz + b * Z + S * W;
    std::copy_n(dh.data() + b * U, U, last);
    std::fill_n(last + U, W - U, T(0));
  }
}

DType same_float_dtype(const char* op, const std::vector<std::pair<const char*, DType>>& args) {
  const DType dt = args[0].second;
  if (dt != DType::F32 && dt != DType::F64)
    throw nb::type_error((std::string(op) + ": argument '" + args[0].first + "' expected float32 or float64, received " +
                          dtype_name(dt)).c_str());
  for (const auto& [name, d] : args)
    if (d != dt)
      throw nb::type_error((std::string(op) + ": argument '" + name + "' expected dtype " + dtype_name(dt) +
                            " (that of '" + args[0].first + "'), received " + dtype_name(d)).c_str());
  return dt;
}

DType array_dtype(const Array& a, const char* op) { return dtype_of(a.dtype(), op); }

// Checks a mask's dtype and shape: bool (batch, time).
void check_mask(const char* op, DType dt, const std::vector<int64_t>& shape, const LstmDims& d) {
  if (dt != DType::Bool)
    throw nb::type_error((std::string(op) + ": argument 'mask' expected dtype bool, received " + dtype_name(dt)).c_str());
  const std::vector<int64_t> want{d.B, d.T};
  if (shape != want)
    fail(op, "argument 'mask' expected shape (batch, time) = " + tuple_str(want) + ", received " + tuple_str(shape));
}

// The data of an eager kernel's optional mask (None: no mask), after checking it.
const bool* mask_data(const char* op, const nb::object& mask, const LstmDims& d) {
  if (mask.is_none()) return nullptr;
  const Array m = nb::cast<Array>(mask);
  check_mask(op, array_dtype(m, op), shape_of(m), d);
  return static_cast<const bool*>(m.data());
}

// A step's optional mask: its input `k` when the step has one (null otherwise).
const Slot* mask_slot(const StepSpec& s, size_t k, const LstmDims& d) {
  if (s.in.size() <= k) return nullptr;
  check_mask(s.kernel.c_str(), s.in[k]->dtype, s.in[k]->shape, d);
  return s.in[k];
}

const bool* mask_of(const Slot* m) { return m ? m->as<const bool>() : nullptr; }

// The end every eager kernel here shares: a new array of `shape` in dt, filled by
// run(T* result) with the GIL released (run is a generic lambda; T is dt's element type).
template <class Run>
nb::object new_result(const char* op, DType dt, std::vector<size_t> shape, Run&& run) {
  LK_DISPATCH_FLOAT(dt, op, {
    T* data;
    auto res = new_array<T>(shape, &data);
    {
      nb::gil_scoped_release nogil;
      run(data);
    }
    return res;
  });
  return nb::none();  // (not reached: the dispatch throws for other dtypes)
}

template <class T>
const T* typed(const Array& a) {
  return static_cast<const T*>(a.data());
}

template <class P>
using element_of = std::remove_const_t<std::remove_pointer_t<P>>;

// lstm_sequence(zx, h0, c0, r, reverse, mask=None) -> out (T, B, 6U)
nb::object lstm_sequence(const Array& zx, const Array& h0, const Array& c0, const Array& r, bool reverse,
                         const nb::object& mask) {
  const char* op = "lstm_sequence";
  const DType dt = same_float_dtype(op, {{"zx", array_dtype(zx, op)}, {"h0", array_dtype(h0, op)},
                                         {"c0", array_dtype(c0, op)}, {"r", array_dtype(r, op)}});
  const LstmDims d = lstm_dims(op, shape_of(zx), shape_of(h0), shape_of(c0), shape_of(r));
  const bool* m = mask_data(op, mask, d);
  return new_result(op, dt, {size_t(d.T), size_t(d.B), size_t(6 * d.U)}, [&](auto* out) {
    using T = element_of<decltype(out)>;
    lstm_forward(d, typed<T>(zx), typed<T>(h0), typed<T>(c0), typed<T>(r), m, reverse, out);
  });
}

// lstm_sequence_grad(g (T, B, 6U), out (T, B, 6U), c0 (B, U), r (U, 4U), initial, reverse, mask=None)
//   -> dz (B, T [+ 1], 4U); `reverse` only says how the mask's steps map to processed steps
nb::object lstm_sequence_grad(const Array& g, const Array& out, const Array& c0, const Array& r, bool initial,
                              bool reverse, const nb::object& mask) {
  const char* op = "lstm_sequence_grad";
  const DType dt = same_float_dtype(op, {{"g", array_dtype(g, op)}, {"out", array_dtype(out, op)},
                                         {"c0", array_dtype(c0, op)}, {"r", array_dtype(r, op)}});
  const std::vector<int64_t> os = shape_of(out), gs = shape_of(g);
  const LstmDims d = lstm_out_dims(op, os, shape_of(c0), shape_of(r));
  if (gs != os) fail(op, "argument 'g' expected the shape of 'out', " + tuple_str(os) + ", received " + tuple_str(gs));
  const bool* m = mask_data(op, mask, d);
  return new_result(op, dt, {size_t(d.B), size_t(d.T + initial), size_t(4 * d.U)}, [&](auto* dz) {
    using T = element_of<decltype(dz)>;
    lstm_backward(d, typed<T>(g), typed<T>(out), typed<T>(c0), typed<T>(r), m, reverse, initial, dz);
  });
}

// gru_sequence(xp, h0, r, rb, reverse, mask=None) -> out (T, B, 5U)
nb::object gru_sequence(const Array& xp, const Array& h0, const Array& r, const Array& rb, bool reverse,
                        const nb::object& mask) {
  const char* op = "gru_sequence";
  const DType dt = same_float_dtype(op, {{"xp", array_dtype(xp, op)}, {"h0", array_dtype(h0, op)},
                                         {"r", array_dtype(r, op)}, {"rb", array_dtype(rb, op)}});
  const LstmDims d = gru_dims(op, shape_of(xp), shape_of(h0), shape_of(r), shape_of(rb));
  const bool* m = mask_data(op, mask, d);
  return new_result(op, dt, {size_t(d.T), size_t(d.B), size_t(5 * d.U)}, [&](auto* out) {
    using T = element_of<decltype(out)>;
    gru_forward(d, typed<T>(xp), typed<T>(h0), typed<T>(r), typed<T>(rb), m, reverse, out);
  });
}

// gru_sequence_grad(g (T, B, 5U), out (T, B, 5U), h0 (B, U), r (U, 3U), initial, reverse, mask=None)
//   -> dz (B, T [+ 1], 6U)
nb::object gru_sequence_grad(const Array& g, const Array& out, const Array& h0, const Array& r, bool initial,
                             bool reverse, const nb::object& mask) {
  const char* op = "gru_sequence_grad";
  const DType dt = same_float_dtype(op, {{"g", array_dtype(g, op)}, {"out", array_dtype(out, op)},
                                         {"h0", array_dtype(h0, op)}, {"r", array_dtype(r, op)}});
  const std::vector<int64_t> os = shape_of(out), gs = shape_of(g);
  const LstmDims d = gru_out_dims(op, os, shape_of(h0), shape_of(r));
  if (gs != os) fail(op, "argument 'g' expected the shape of 'out', " + tuple_str(os) + ", received " + tuple_str(gs));
  const bool* m = mask_data(op, mask, d);
  return new_result(op, dt, {size_t(d.B), size_t(d.T + initial), size_t(6 * d.U)}, [&](auto* dz) {
    using T = element_of<decltype(dz)>;
    gru_backward(d, typed<T>(g), typed<T>(out), typed<T>(h0), typed<T>(r), m, reverse, initial, dz);
  });
}

// ---- native steps ------------------------------------------------------------------------------
// lstm_sequence: ints [reverse]; in zx, h0, c0, r [, mask]; out (T, B, 6U)
StepFn lstm_sequence_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_arity(s, s.in.size() == 5 ? 5 : 4, 1);
  expect_ints(s, 1);
  const Slot *zx = s.in[0], *h0 = s.in[1], *c0 = s.in[2], *r = s.in[3], *y = s.out[0];
  const DType dt = same_float_dtype(op, {{"zx", zx->dtype}, {"h0", h0->dtype}, {"c0", c0->dtype}, {"r", r->dtype}});
  const LstmDims d = lstm_dims(op, zx->shape, h0->shape, c0->shape, r->shape);
  expect_dtype(s, y, dt, "the result");
  expect_shape(s, y, {d.T, d.B, 6 * d.U}, "the result");
  const bool reverse = s.ints[0] != 0;
  const Slot* m = mask_slot(s, 4, d);
  StepFn fn;
  LK_DISPATCH_FLOAT(dt, op, fn = [=]() {
    lstm_forward(d, zx->as<T>(), h0->as<T>(), c0->as<T>(), r->as<T>(), mask_of(m), reverse, y->as<T>());
  });
  return fn;
}

// The state columns [c0, c1) a backward step's last-step gradient holds (ints 2 and 3, when
// present), after checking them and g's shape (B, c1 - c0); {-1, -1} when g is the whole gradient.
std::pair<int64_t, int64_t> last_columns(const StepSpec& s, const Slot* g, const Slot* out, int64_t state_width,
                                         int64_t B) {
  if (s.ints.size() == 2) {
    expect_shape(s, g, out->shape, "g");
    return {-1, -1};
  }
  expect_ints(s, 4);
  const int64_t c0 = s.ints[2], c1 = s.ints[3];
  if (c0 < 0 || c1 <= c0 || c1 > state_width) fail(s.kernel.c_str(), "the last step's columns must lie in the state columns");
  expect_shape(s, g, {B, c1 - c0}, "g (the last step's columns)");
  return {c0, c1};
}

// lstm_sequence_grad: ints [initial, reverse [, c0, c1]]; in g, out, c0, r [, mask]; out dz (B, T + initial, 4U).
// With c0, c1, g is the gradient of the last processed step's state columns [c0, c1) only.
StepFn lstm_sequence_grad_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_arity(s, s.in.size() == 5 ? 5 : 4, 1);
  if (s.ints.size() != 4) expect_ints(s, 2);
  const bool initial = s.ints[0] != 0, reverse = s.ints[1] != 0;
  const Slot *g = s.in[0], *out = s.in[1], *c0 = s.in[2], *r = s.in[3], *dz = s.out[0];
  const DType dt = same_float_dtype(op, {{"g", g->dtype}, {"out", out->dtype}, {"c0", c0->dtype}, {"r", r->dtype}});
  const LstmDims d = lstm_out_dims(op, out->shape, c0->shape, r->shape);
  const auto [lc0, lc1] = last_columns(s, g, out, 2 * d.U, d.B);
  expect_dtype(s, dz, dt, "the result");
  expect_shape(s, dz, {d.B, d.T + initial, 4 * d.U}, "the result");
  const Slot* m = mask_slot(s, 4, d);
  StepFn fn;
  LK_DISPATCH_FLOAT(dt, op, fn = [=]() {
    if (lc0 < 0) return lstm_backward(d, g->as<T>(), out->as<T>(), c0->as<T>(), r->as<T>(), mask_of(m), reverse, initial,
                                      dz->as<T>());
    const LastStep<T> last(g->as<T>(), d.B, 2 * d.U, lc0, lc1);
    lstm_backward(d, static_cast<const T*>(nullptr), out->as<T>(), c0->as<T>(), r->as<T>(), mask_of(m), reverse,
                  initial, dz->as<T>(), &last);
  });
  return fn;
}

// gru_sequence: ints [reverse]; in xp, h0, r, rb [, mask]; out (T, B, 5U)
StepFn gru_sequence_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_arity(s, s.in.size() == 5 ? 5 : 4, 1);
  expect_ints(s, 1);
  const Slot *xp = s.in[0], *h0 = s.in[1], *r = s.in[2], *rb = s.in[3], *y = s.out[0];
  const DType dt = same_float_dtype(op, {{"xp", xp->dtype}, {"h0", h0->dtype}, {"r", r->dtype}, {"rb", rb->dtype}});
  const LstmDims d = gru_dims(op, xp->shape, h0->shape, r->shape, rb->shape);
  expect_dtype(s, y, dt, "the result");
  expect_shape(s, y, {d.T, d.B, 5 * d.U}, "the result");
  const bool reverse = s.ints[0] != 0;
  const Slot* m = mask_slot(s, 4, d);
  StepFn fn;
  LK_DISPATCH_FLOAT(dt, op, fn = [=]() {
    gru_forward(d, xp->as<T>(), h0->as<T>(), r->as<T>(), rb->as<T>(), mask_of(m), reverse, y->as<T>());
  });
  return fn;
}

// gru_sequence_grad: ints [initial, reverse [, c0, c1]]; in g, out, h0, r [, mask]; out dz (B, T + initial, 6U)
StepFn gru_sequence_grad_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_arity(s, s.in.size() == 5 ? 5 : 4, 1);
  if (s.ints.size() != 4) expect_ints(s, 2);
  const bool initial = s.ints[0] != 0, reverse = s.ints[1] != 0;
  const Slot *g = s.in[0], *out = s.in[1], *h0 = s.in[2], *r = s.in[3], *dz = s.out[0];
  const DType dt = same_float_dtype(op, {{"g", g->dtype}, {"out", out->dtype}, {"h0", h0->dtype}, {"r", r->dtype}});
  const LstmDims d = gru_out_dims(op, out->shape, h0->shape, r->shape);
  const auto [lc0, lc1] = last_columns(s, g, out, d.U, d.B);
  expect_dtype(s, dz, dt, "the result");
  expect_shape(s, dz, {d.B, d.T + initial, 6 * d.U}, "the result");
  const Slot* m = mask_slot(s, 4, d);
  StepFn fn;
  LK_DISPATCH_FLOAT(dt, op, fn = [=]() {
    if (lc0 < 0) return gru_backward(d, g->as<T>(), out->as<T>(), h0->as<T>(), r->as<T>(), mask_of(m), reverse, initial,
                                     dz->as<T>());
    const LastStep<T> last(g->as<T>(), d.B, d.U, lc0, lc1);
    gru_backward(d, static_cast<const T*>(nullptr), out->as<T>(), h0->as<T>(), r->as<T>(), mask_of(m), reverse, initial,
                 dz->as<T>(), &last);
  });
  return fn;
}

}  // namespace

void bind_recurrent(nb::module_& m) {
  def_kernel(m, "lstm_sequence", &lstm_sequence, nb::arg("zx"), nb::arg("h0"), nb::arg("c0"), nb::arg("r"),
             nb::arg("reverse"), nb::arg("mask") = nb::none());
  def_kernel(m, "lstm_sequence_grad", &lstm_sequence_grad, nb::arg("g"), nb::arg("out"), nb::arg("c0"), nb::arg("r"),
             nb::arg("initial"), nb::arg("reverse") = false, nb::arg("mask") = nb::none());
  def_kernel(m, "gru_sequence", &gru_sequence, nb::arg("xp"), nb::arg("h0"), nb::arg("r"), nb::arg("rb"),
             nb::arg("reverse"), nb::arg("mask") = nb::none());
  def_kernel(m, "gru_sequence_grad", &gru_sequence_grad, nb::arg("g"), nb::arg("out"), nb::arg("h0"), nb::arg("r"),
             nb::arg("initial"), nb::arg("reverse") = false, nb::arg("mask") = nb::none());
  register_step("gru_sequence", &gru_sequence_step);
  register_step("gru_sequence_grad", &gru_sequence_grad_step);
  register_step("lstm_sequence", &lstm_sequence_step);
  register_step("lstm_sequence_grad", &lstm_sequence_grad_step);
}

}  // namespace layerkit::core
