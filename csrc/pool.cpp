// Pooling kernels, channels_last (NHWC): max and average pooling over 2D windows with strides and
// explicit padding, and their gradients. Padding cells never win a max and are not counted in an
// average (TensorFlow/Keras "same" semantics). Inner loops run over contiguous channels.
#include <omp.h>

#include "common.h"
#include "executor.h"
#include "nhwc.h"

#include <nanobind/stl/array.h>

#include <algorithm>
#include <array>
#include <memory>
#include <type_traits>

namespace layerkit::core {
namespace {

// max_pool2d_grad works on blocks of this many channels per task (windows of one image overlap).
constexpr int64_t kChanBlock = 64;

struct PGeom {
  int64_t N, H, W, C, PH, PW, sh, sw, pt, pl, OH, OW;
  // Window rows [h0, h1) (input coordinates, clipped to the image) of output row oh; same for columns.
  void rows(int64_t oh, int64_t& h0, int64_t& h1) const {
    h0 = std::max<int64_t>(oh * sh - pt, 0), h1 = std::min(oh * sh - pt + PH, H);
  }
  void cols(int64_t ow, int64_t& w0, int64_t& w1) const {
    w0 = std::max<int64_t>(ow * sw - pl, 0), w1 = std::min(ow * sw - pl + PW, W);
  }
};

// Validates pool, strides, padding (each pad smaller than its window) and the input shape xs.
PGeom make_pgeom(const char* op, const char* xn, const I4& xs, const I2& pool, const I2& st, const I4& pad) {
  auto arg = [&](const char* n) { return std::string("argument '") + n + "' expected "; };
  if (pool[0] < 1 || pool[1] < 1) fail(op, arg("pool") + "two positive ints, received " + tuple_str(pool));
  if (st[0] < 1 || st[1] < 1) fail(op, arg("strides") + "two positive ints, received " + tuple_str(st));
  if (pad[0] < 0 || pad[1] < 0 || pad[0] >= pool[0] || pad[1] >= pool[0] || pad[2] < 0 || pad[3] < 0 ||
      pad[2] >= pool[1] || pad[3] >= pool[1])
    fail(op, arg("padding") + "four ints (top, bottom, left, right), each >= 0 and smaller than the pool " +
                 tuple_str(pool) + ", received " + tuple_str(pad));
  if (xs[0] < 0 || xs[1] < 1 || xs[2] < 1 || xs[3] < 0)
    fail(op, arg(xn) + "shape (N, H, W, C) with H, W >= 1, received " + tuple_str(xs));
  const int64_t ph = xs[1] + pad[0] + pad[1], pw = xs[2] + pad[2] + pad[3];
  if (ph < pool[0] || pw < pool[1])
    fail(op, arg(xn) + "a padded spatial size of at least the pool " + tuple_str(pool) + ", received " +
                 tuple_str(I2{xs[1], xs[2]}) + " with padding " + tuple_str(pad));
  return {xs[0], xs[1], xs[2], xs[3], pool[0], pool[1], st[0], st[1], pad[0], pad[2],
          (ph - pool[0]) / st[0] + 1, (pw - pool[1]) / st[1] + 1};
}

// Pixels per OpenMP task: ~4096 window-channel visits each.
int64_t pool_block(const PGeom& q) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(1, q.C * q.PH * q.PW)); }

// out = max over each window's valid cells (the first valid cell seeds it; later cells win only if greater).
template <class T>
void max_forward(const PGeom& q, const T* x, T* out) {
  const int64_t pixels = q.N * q.OH * q.OW, C = q.C, B = pool_block(q);
#pragma omp parallel for schedule(static) if (pixels * C * q.PH * q.PW > kParallelGrain)
  for (int64_t r0 = 0; r0 < pixels; r0 += B)
    for (int64_t r = r0, r1 = std::min(pixels, r0 + B); r < r1; ++r) {
      const int64_t n = r / (q.OH * q.OW);
      int64_t h0, h1, w0, w1;
      q.rows(r / q.OW % q.OH, h0, h1);
      q.cols(r % q.OW, w0, w1);
      T* __restrict o = out + r * C;
      std::memcpy(o, x + ((n * q.H + h0) * q.W + w0) * C, sizeof(T) * C);
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = (ih == h0 ? w0 + 1 : w0); iw < w1; ++iw) {
          const T* __restrict s = x + ((n * q.H + ih) * q.W + iw) * C;
          for (int64_t c = 0; c < C; ++c) o[c] = s[c] > o[c] ? s[c] : o[c];
        }
    }
}

// dx[argmax] += g per window and channel, argmax = first max in row-major window order;
// tasks are (image, channel block) pairs, so overlapping windows never race.
template <class T>
void max_backward(const PGeom& q, const T* x, const T* g, T* dx) {
  using Idx = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;  // same width as T: the select vectorizes
  const int64_t C = q.C, nb_ = (C + kChanBlock - 1) / kChanBlock, tasks = q.N * nb_, img = q.H * q.W * C;
#pragma omp parallel for schedule(static) if (q.N * q.OH * q.OW * C * q.PH * q.PW > kParallelGrain)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t n = task / nb_, c0 = (task % nb_) * kChanBlock, cb = std::min(kChanBlock, C - c0);
    const T* xi = x + n * img + c0;
    T* di = dx + n * img + c0;
    for (int64_t ih = 0; ih < q.H; ++ih)
      for (int64_t iw = 0; iw < q.W; ++iw) std::memset(di + (ih * q.W + iw) * C, 0, sizeof(T) * cb);
    T best[kChanBlock];
    Idx at[kChanBlock];
    for (int64_t oh = 0; oh < q.OH; ++oh) {
      int64_t h0, h1, w0, w1;
      q.rows(oh, h0, h1);
      for (int64_t ow = 0; ow < q.OW; ++ow) {
        q.cols(ow, w0, w1);
        const Idx first = Idx((h0 * q.W + w0) * C);
        for (int64_t c = 0; c < cb; ++c) best[c] = xi[first + c], at[c] = first;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = (ih == h0 ? w0 + 1 : w0); iw < w1; ++iw) {
            const Idx off = Idx((ih * q.W + iw) * C);
            const T* __restrict s = xi + off;
            for (int64_t c = 0; c < cb; ++c) {  // branch-free, so it vectorizes
              const T v = s[c], b = best[c];
              const Idx m = -Idx(v > b);
              best[c] = v > b ? v : b;
              at[c] = (at[c] & ~m) | (off & m);
            }
          }
        const T* gs = g + ((n * q.OH + oh) * q.OW + ow) * C + c0;
        for (int64_t c = 0; c < cb; ++c) di[at[c] + c] += gs[c];
      }
    }
  }
}

// out = mean over each window's valid (non-padding) cells.
template <class T>
void avg_forward(const PGeom& q, const T* x, T* out) {
  const int64_t pixels = q.N * q.OH * q.OW, C = q.C, B = pool_block(q);
#pragma omp parallel for schedule(static) if (pixels * C * q.PH * q.PW > kParallelGrain)
  for (int64_t r0 = 0; r0 < pixels; r0 += B)
    for (int64_t r = r0, r1 = std::min(pixels, r0 + B); r < r1; ++r) {
      const int64_t n = r / (q.OH * q.OW);
      int64_t h0, h1, w0, w1;
      q.rows(r / q.OW % q.OH, h0, h1);
      q.cols(r % q.OW, w0, w1);
      T* __restrict o = out + r * C;
      std::memset(o, 0, sizeof(T) * C);
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const T* __restrict s = x + ((n * q.H + ih) * q.W + iw) * C;
          for (int64_t c = 0; c < C; ++c) o[c] += s[c];
        }
      const T inv = T(1) / T((h1 - h0) * (w1 - w0));
      for (int64_t c = 0; c < C; ++c) o[c] *= inv;
    }
}

// Output rows (or columns) [lo, hi] whose windows cover input coordinate i.
inline void covering(int64_t i, int64_t pad, int64_t P, int64_t s, int64_t n_out, int64_t& lo, int64_t& hi) {
  const int64_t t = i + pad - P + 1;
  lo = t <= 0 ? 0 : (t + s - 1) / s;
  hi = std::min(n_out - 1, (i + pad) / s);
}

// dx[cell] = sum of g[window] / count(window) over the windows covering the cell; gathered per
// input pixel so threads never share a dx cell.
template <class T>
void avg_backward(const PGeom& q, const T* g, T* dx) {
  const int64_t pixels = q.N * q.H * q.W, C = q.C, B = pool_block(q);
#pragma omp parallel for schedule(static) if (pixels * C * q.PH * q.PW > kParallelGrain)
  for (int64_t p0 = 0; p0 < pixels; p0 += B)
    for (int64_t p = p0, p1 = std::min(pixels, p0 + B); p < p1; ++p) {
      const int64_t n = p / (q.H * q.W);
      int64_t oh0, oh1, ow0, ow1, h0, h1, w0, w1;
      covering(p / q.W % q.H, q.pt, q.PH, q.sh, q.OH, oh0, oh1);
      covering(p % q.W, q.pl, q.PW, q.sw, q.OW, ow0, ow1);
      T* __restrict d = dx + p * C;
      std::memset(d, 0, sizeof(T) * C);
      for (int64_t oh = oh0; oh <= oh1; ++oh) {
        q.rows(oh, h0, h1);
        for (int64_t ow = ow0; ow <= ow1; ++ow) {
          q.cols(ow, w0, w1);
          const T inv = T(1) / T((h1 - h0) * (w1 - w0));
          const T* __restrict gs = g + ((n * q.OH + oh) * q.OW + ow) * C;
          for (int64_t c = 0; c < C; ++c) d[c] += gs[c] * inv;
        }
      }
    }
}

// max_pool2d(x (N,H,W,C), pool, strides, padding) -> (N,OH,OW,C), OH = (H + pt + pb - PH)//sh + 1.
nb::object max_pool2d(const Array& x, I2 pool, I2 strides, I4 padding) {
  const char* op = "max_pool2d";
  const DType dt = dtype_of(x.dtype(), op);
  const PGeom q = make_pgeom(op, "x", rank4(op, x, "x", "(N, H, W, C)"), pool, strides, padding);
  LK_DISPATCH_FLOAT(dt, op, {
    T* out;
    auto res = new_array<T>({size_t(q.N), size_t(q.OH), size_t(q.OW), size_t(q.C)}, &out);
    const T* xp = static_cast<const T*>(x.data());
    {
      nb::gil_scoped_release nogil;
      max_forward(q, xp, out);
    }
    return res;
  });
}

// max_pool2d_grad(x, g (N,OH,OW,C), pool, strides, padding) -> dx (N,H,W,C).
nb::object max_pool2d_grad(const Array& x, const Array& g, I2 pool, I2 strides, I4 padding) {
  const char* op = "max_pool2d_grad";
  const DType dt = dtype_of(x.dtype(), op), dg = dtype_of(g.dtype(), op);
  if (dt != dg)
    throw nb::type_error((std::string(op) + ": arguments 'x' and 'g' must have the same dtype, received " +
                          dtype_name(dt) + " and " + dtype_name(dg)).c_str());
  const I4 gs = rank4(op, g, "g", "(N, OH, OW, C)");
  const PGeom q = make_pgeom(op, "x", rank4(op, x, "x", "(N, H, W, C)"), pool, strides, padding);
  check_shape(op, "g", gs, {q.N, q.OH, q.OW, q.C}, "(the max_pool2d output for x)");
  LK_DISPATCH_FLOAT(dt, op, {
    T* dx;
    auto res = new_array<T>({size_t(q.N), size_t(q.H), size_t(q.W), size_t(q.C)}, &dx);
    const T* xp = static_cast<const T*>(x.data());
    const T* gp = static_cast<const T*>(g.data());
    {
      nb::gil_scoped_release nogil;
      max_backward(q, xp, gp, dx);
    }
    return res;
  });
}

// avg_pool2d(x (N,H,W,C), pool, strides, padding) -> (N,OH,OW,C), padding cells not counted.
nb::object avg_pool2d(const Array& x, I2 pool, I2 strides, I4 padding) {
  const char* op = "avg_pool2d";
  const DType dt = dtype_of(x.dtype(), op);
  const PGeom q = make_pgeom(op, "x", rank4(op, x, "x", "(N, H, W, C)"), pool, strides, padding);
  LK_DISPATCH_FLOAT(dt, op, {
    T* out;
    auto res = new_array<T>({size_t(q.N), size_t(q.OH), size_t(q.OW), size_t(q.C)}, &out);
    const T* xp = static_cast<const T*>(x.data());
    {
      nb::gil_scoped_release nogil;
      avg_forward(q, xp, out);
    }
    return res;
  });
}

// avg_pool2d_grad(g (N,OH,OW,C), input_shape (N,H,W,C), pool, strides, padding) -> dx (N,H,W,C).
nb::object avg_pool2d_grad(const Array& g, I4 input_shape, I2 pool, I2 strides, I4 padding) {
  const char* op = "avg_pool2d_grad";
  const DType dt = dtype_of(g.dtype(), op);
  const I4 gs = rank4(op, g, "g", "(N, OH, OW, C)");
  const PGeom q = make_pgeom(op, "input_shape", input_shape, pool, strides, padding);
  check_shape(op, "g", gs, {q.N, q.OH, q.OW, q.C}, "(the avg_pool2d output for input_shape " + tuple_str(input_shape) + ")");
  LK_DISPATCH_FLOAT(dt, op, {
    T* dx;
    auto res = new_array<T>({size_t(q.N), size_t(q.H), size_t(q.W), size_t(q.C)}, &dx);
    const T* gp = static_cast<const T*>(g.data());
    {
      nb::gil_scoped_release nogil;
      avg_backward(q, gp, dx);
    }
    return res;
  });
}

// ---- native steps: the same typed functions on the plan's slots -------------------------------
// ints: [pool_h, pool_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right]
struct PoolAttrs {
  I2 pool, strides;
  I4 padding;
};

PoolAttrs pool_attrs(const StepSpec& s) {
  expect_ints(s, 8);
  const auto& i = s.ints;
  return {{i[0], i[1]}, {i[2], i[3]}, {i[4], i[5], i[6], i[7]}};
}

// in: x (N,H,W,C); out: y (N,OH,OW,C). One factory for max and average pooling.
template <bool is_max>
StepFn pool_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_arity(s, 1, 1);
  const PoolAttrs a = pool_attrs(s);
  const Slot *x = s.in[0], *y = s.out[0];
  expect_float(s, x, "x");
  expect_dtype(s, y, x->dtype, "the result");
  const PGeom q = make_pgeom(op, "x", rank4(op, x->shape, "x", "(N, H, W, C)"), a.pool, a.strides, a.padding);
  check_shape(op, "y", rank4(op, y->shape, "y", "(N, OH, OW, C)"), {q.N, q.OH, q.OW, q.C}, "(the pooled x)");
  StepFn fn;
  LK_DISPATCH_FLOAT(x->dtype, op, fn = [q, x, y]() {
    if constexpr (is_max) max_forward(q, x->as<T>(), y->as<T>());
    else avg_forward(q, x->as<T>(), y->as<T>());
  });
  return fn;
}

// in: x (N,H,W,C), g (N,OH,OW,C); out: dx, x's shape
StepFn max_pool2d_grad_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_arity(s, 2, 1);
  const PoolAttrs a = pool_attrs(s);
  const Slot *x = s.in[0], *g = s.in[1], *dx = s.out[0];
  expect_float(s, x, "x");
  expect_dtype(s, g, x->dtype, "g");
  expect_dtype(s, dx, x->dtype, "the result");
  const I4 xs = rank4(op, x->shape, "x", "(N, H, W, C)");
  const PGeom q = make_pgeom(op, "x", xs, a.pool, a.strides, a.padding);
  check_shape(op, "g", rank4(op, g->shape, "g", "(N, OH, OW, C)"), {q.N, q.OH, q.OW, q.C}, "(the max_pool2d output for x)");
  check_shape(op, "dx", rank4(op, dx->shape, "dx", "(N, H, W, C)"), xs, "(x's shape)");
  StepFn fn;
  LK_DISPATCH_FLOAT(x->dtype, op, fn = [q, x, g, dx]() { max_backward(q, x->as<T>(), g->as<T>(), dx->as<T>()); });
  return fn;
}

// in: g (N,OH,OW,C), ignored extras; out: dx, whose shape is the input shape
StepFn avg_pool2d_grad_step(const StepSpec& s) {
  const char* op = s.kernel.c_str();
  expect_min_arity(s, 1, 1);
  const PoolAttrs a = pool_attrs(s);
  const Slot *g = s.in[0], *dx = s.out[0];
  expect_float(s, g, "g");
  expect_dtype(s, dx, g->dtype, "the result");
  const I4 xs = rank4(op, dx->shape, "dx", "(N, H, W, C)");
  const PGeom q = make_pgeom(op, "dx", xs, a.pool, a.strides, a.padding);
  check_shape(op, "g", rank4(op, g->shape, "g", "(N, OH, OW, C)"), {q.N, q.OH, q.OW, q.C},
              "(the avg_pool2d output for input shape " + tuple_str(xs) + ")");
  StepFn fn;
  LK_DISPATCH_FLOAT(g->dtype, op, fn = [q, g, dx]() { avg_backward(q, g->as<T>(), dx->as<T>()); });
  return fn;
}

}  // namespace

void bind_pool(nb::module_& m) {
  def_kernel(m, "max_pool2d", &max_pool2d, nb::arg("x"), nb::arg("pool"), nb::arg("strides"), nb::arg("padding"));
  def_kernel(m, "max_pool2d_grad", &max_pool2d_grad, nb::arg("x"), nb::arg("g"), nb::arg("pool"),
             nb::arg("strides"), nb::arg("padding"));
  def_kernel(m, "avg_pool2d", &avg_pool2d, nb::arg("x"), nb::arg("pool"), nb::arg("strides"), nb::arg("padding"));
  def_kernel(m, "avg_pool2d_grad", &avg_pool2d_grad, nb::arg("g"), nb::arg("input_shape"), nb::arg("pool"),
             nb::arg("strides"), nb::arg("padding"));
  register_step("max_pool2d", &pool_step<true>);
  register_step("max_pool2d_grad", &max_pool2d_grad_step);
  register_step("avg_pool2d", &pool_step<false>);
  register_step("avg_pool2d_grad", &avg_pool2d_grad_step);
}

}  // namespace layerkit::core
