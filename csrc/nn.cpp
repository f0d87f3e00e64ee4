// Neural-network kernels over rows: softmax, log-softmax, and the fused sparse softmax
// cross-entropy with its gradient (one pass over the logits each, numerically stable).
// Each computation is one typed function, called by the eager kernel and the native step alike.
#include <cmath>
#include <limits>

#include "common.h"
#include "executor.h"

namespace layerkit::core {
namespace {

template <class T>
inline T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// y[r, :] = softmax (or log-softmax) of x[r, :]; x is (rows, n).
template <bool log_space, class T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static) if (rows * n > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    const T m = row_max(xr, n);
    T s = 0;
    for (int64_t j = 0; j < n; ++j) {
      T e = std::exp(xr[j] - m);
      s += e;
      if (!log_space) yr[j] = e;
    }
    if (log_space) {
      // (x - m) - log(s), not x - (m + log(s)): m + log(s) rounds away log(s) when |m| is large
      const T ls = std::log(s);
      for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) - ls;
    } else {
      const T inv = T(1) / s;
      for (int64_t j = 0; j < n; ++j) yr[j] *= inv;
    }
  }
}

template <bool log_space>
nb::object softmax_kernel(const char* name, Array x) {
  if (x.ndim() != 2) throw nb::value_error((std::string(name) + ": expected a 2-D (rows, classes) array").c_str());
  DType dt = dtype_of(x.dtype(), name);
  LK_DISPATCH_FLOAT(dt, name, {
    T* y;
    auto out = new_array<T>(shape_of(x), &y);
    {
      nb::gil_scoped_release nogil;
      softmax_rows<log_space, T>(static_cast<const T*>(x.data()), y, x.shape(0), x.shape(1));
    }
    return out;
  });
  return nb::none();
}

// Every label must index a class: throws naming the first one that does not. Runs before any
// parallel loop (an exception must not leave an OpenMP region) and needs no GIL.
template <class L>
void check_labels(const char* name, const L* lab, int64_t rows, int64_t classes) {
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t v = lab[i];
    if (v < 0 || v >= classes)
      throw nb::value_error((std::string(name) + ": label " + std::to_string(v) + " at position " + std::to_string(i) +
                             " is outside [0, " + std::to_string(classes) + ")").c_str());
  }
}

// loss[r] = logsumexp(x[r, :]) - x[r, lab[r]]
template <class T, class L>
void xent_rows(const T* x, const L* lab, T* y, int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static) if (rows * n > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    const T m = row_max(xr, n);
    T s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::exp(xr[j] - m);
    y[r] = (m - xr[lab[r]]) + std::log(s);  // as in softmax_rows: keep log(s) out of m's rounding
  }
}

// y[r, :] = g[r] * (softmax(x[r, :]) - onehot(lab[r]))
template <class T, class L>
void xent_grad_rows(const T* x, const L* lab, const T* g, T* y, int64_t rows, int64_t n) {
  softmax_rows<false, T>(x, y, rows, n);
  for (int64_t r = 0; r < rows; ++r) {
    T* yr = y + r * n;
    yr[lab[r]] -= T(1);
    for (int64_t j = 0; j < n; ++j) yr[j] *= g[r];
  }
}

// Runs body(L{}) with L the C++ type of the labels (int32 or int64).
#define LK_DISPATCH_LABELS(dt, name, ...)                                                      \
  switch (dt) {                                                                                \
    case DType::I32: { using L = int32_t; __VA_ARGS__; break; }                                \
    case DType::I64: { using L = int64_t; __VA_ARGS__; break; }                                \
    default: throw nb::type_error((std::string(name) + ": labels must be int32 or int64").c_str()); \
  }

// The labels' dtype after checking they are 1-D with one entry per row of logits.
DType labels_dtype(const char* name, const Array& labels, int64_t rows) {
  if (labels.ndim() != 1 || (int64_t)labels.shape(0) != rows)
    throw nb::value_error((std::string(name) + ": labels must be 1-D with one entry per row of logits (" +
                           std::to_string(rows) + ")").c_str());
  return dtype_of(labels.dtype(), name);
}

// sparse_softmax_cross_entropy(logits (rows, n), labels (rows,)) -> loss (rows,)
nb::object sparse_xent_kernel(Array logits, Array labels) {
  const char* name = "sparse_softmax_cross_entropy";
  if (logits.ndim() != 2) throw nb::value_error("sparse_softmax_cross_entropy: logits must be 2-D (rows, classes)");
  const int64_t rows = logits.shape(0), n = logits.shape(1);
  const DType lt = labels_dtype(name, labels, rows);
  LK_DISPATCH_LABELS(lt, name, {
    const L* lab = static_cast<const L*>(labels.data());
    check_labels(name, lab, rows, n);
    LK_DISPATCH_FLOAT(dtype_of(logits.dtype(), name), name, {
      T* y;
      auto out = new_array<T>({(size_t)rows}, &y);
      const T* x = static_cast<const T*>(logits.data());
      {
        nb::gil_scoped_release nogil;
        xent_rows<T, L>(x, lab, y, rows, n);
      }
      return out;
    });
  });
  return nb::none();
}

// sparse_softmax_cross_entropy_grad(logits, labels, g (rows,)) -> dlogits (rows, n)
nb::object sparse_xent_grad_kernel(Array logits, Array labels, Array g) {
  const char* name = "sparse_softmax_cross_entropy_grad";
  if (logits.ndim() != 2) throw nb::value_error("sparse_softmax_cross_entropy_grad: logits must be 2-D");
  const int64_t rows = logits.shape(0), n = logits.shape(1);
  const DType lt = labels_dtype(name, labels, rows);
  LK_DISPATCH_LABELS(lt, name, {
    const L* lab = static_cast<const L*>(labels.data());
    check_labels(name, lab, rows, n);
    DType dt = dtype_of(logits.dtype(), name);
    if (g.ndim() != 1 || (int64_t)g.shape(0) != rows || dtype_of(g.dtype(), name) != dt)
      throw nb::value_error("sparse_softmax_cross_entropy_grad: g must be 1-D, one entry per row, logits' dtype");
    LK_DISPATCH_FLOAT(dt, name, {
      T* y;
      auto out = new_array<T>(shape_of(logits), &y);
      const T* x = static_cast<const T*>(logits.data());
      const T* gp = static_cast<const T*>(g.data());
      {
        nb::gil_scoped_release nogil;
        xent_grad_rows<T, L>(x, lab, gp, y, rows, n);
      }
      return out;
    });
  });
  return nb::none();
}

// ---- native steps: the same typed functions on the plan's slots -------------------------------
// The logits' (rows, classes) after checking they are a float array of rank >= 1.
std::pair<int64_t, int64_t> row_geometry(const StepSpec& s, const Slot* x, const char* what) {
  if (x->shape.empty())
    throw nb::value_error((s.kernel + ": " + what + " must have rank >= 1 (rows over the last axis), received a scalar").c_str());
  expect_float(s, x, what);
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < x->shape.size(); ++i) rows *= x->shape[i];
  return {rows, x->shape.back()};
}

// in: x (..., n); out: y, same shape and dtype
template <bool log_space>
StepFn softmax_step(const StepSpec& s) {
  expect_arity(s, 1, 1);
  expect_ints(s, 0);
  const Slot *x = s.in[0], *y = s.out[0];
  const auto [rows, n] = row_geometry(s, x, "x");
  expect_dtype(s, y, x->dtype, "the result");
  expect_shape(s, y, x->shape, "the result");
  StepFn fn;
  LK_DISPATCH_FLOAT(x->dtype, s.kernel, fn = [x, y, rows = rows, n = n]() {
    softmax_rows<log_space, T>(x->as<T>(), y->as<T>(), rows, n);
  });
  return fn;
}

// The labels slot must be int32/int64 with the logits' shape minus the class axis.
void expect_labels(const StepSpec& s, const Slot* logits, const Slot* labels) {
  if (labels->dtype != DType::I32 && labels->dtype != DType::I64)
    throw nb::type_error((s.kernel + ": labels must be int32 or int64, received " + dtype_name(labels->dtype)).c_str());
  expect_shape(s, labels, std::vector<int64_t>(logits->shape.begin(), logits->shape.end() - 1), "labels");
}

// in: logits (..., n), labels (...); out: loss (...), logits' dtype
StepFn sparse_xent_step(const StepSpec& s) {
  expect_arity(s, 2, 1);
  expect_ints(s, 0);
  const Slot *x = s.in[0], *lab = s.in[1], *y = s.out[0];
  const auto [rows, n] = row_geometry(s, x, "logits");
  expect_labels(s, x, lab);
  expect_dtype(s, y, x->dtype, "the result");
  expect_shape(s, y, lab->shape, "the result");
  const char* name = "sparse_softmax_cross_entropy";
  StepFn fn;
  LK_DISPATCH_LABELS(lab->dtype, name, {
    LK_DISPATCH_FLOAT(x->dtype, name, fn = [x, lab, y, rows = rows, n = n, name]() {
      check_labels(name, lab->as<L>(), rows, n);  // label values are only known when the step runs
      xent_rows<T, L>(x->as<T>(), lab->as<L>(), y->as<T>(), rows, n);
    });
  });
  return fn;
}

// in: logits (..., n), labels (...), g (...); out: dlogits, logits' shape and dtype
StepFn sparse_xent_grad_step(const StepSpec& s) {
  expect_arity(s, 3, 1);
  expect_ints(s, 0);
  const Slot *x = s.in[0], *lab = s.in[1], *g = s.in[2], *y = s.out[0];
  const auto [rows, n] = row_geometry(s, x, "logits");
  expect_labels(s, x, lab);
  expect_dtype(s, g, x->dtype, "g");
  expect_shape(s, g, lab->shape, "g");
  expect_dtype(s, y, x->dtype, "the result");
  expect_shape(s, y, x->shape, "the result");
  const char* name = "sparse_softmax_cross_entropy_grad";
  StepFn fn;
  LK_DISPATCH_LABELS(lab->dtype, name, {
    LK_DISPATCH_FLOAT(x->dtype, name, fn = [x, lab, g, y, rows = rows, n = n, name]() {
      check_labels(name, lab->as<L>(), rows, n);
      xent_grad_rows<T, L>(x->as<T>(), lab->as<L>(), g->as<T>(), y->as<T>(), rows, n);
    });
  });
  return fn;
}

}  // namespace

void bind_nn(nb::module_& m) {
  def_kernel(m, "softmax", [](Array x) { return softmax_kernel<false>("softmax", x); }, nb::arg("x"));
  def_kernel(m, "log_softmax", [](Array x) { return softmax_kernel<true>("log_softmax", x); }, nb::arg("x"));
  def_kernel(m, "sparse_softmax_cross_entropy", &sparse_xent_kernel, nb::arg("logits"), nb::arg("labels"));
  def_kernel(m, "sparse_softmax_cross_entropy_grad", &sparse_xent_grad_kernel, nb::arg("logits"),
             nb::arg("labels"), nb::arg("g"));
  register_step("softmax", &softmax_step<false>);
  register_step("log_softmax", &softmax_step<true>);
  register_step("sparse_softmax_cross_entropy", &sparse_xent_step);
  register_step("sparse_softmax_cross_entropy_grad", &sparse_xent_grad_step);
}

}  // namespace layerkit::core
