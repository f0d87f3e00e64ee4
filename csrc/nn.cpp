// Neural-network kernels over rows: softmax, log-softmax, and the fused sparse softmax
// cross-entropy with its gradient (one pass over the logits each, numerically stable).
#include <cmath>
#include <limits>

#include "common.h"

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

// Labels as int64 after checking they index a class; raised with the GIL held.
std::vector<int64_t> checked_labels(const char* name, const Array& labels, int64_t rows, int64_t classes) {
  if (labels.ndim() != 1 || (int64_t)labels.shape(0) != rows)
    throw nb::value_error((std::string(name) + ": labels must be 1-D with one entry per row of logits (" +
                           std::to_string(rows) + ")").c_str());
  DType dt = dtype_of(labels.dtype(), name);
  std::vector<int64_t> out(rows);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t v = dt == DType::I32 ? static_cast<const int32_t*>(labels.data())[i]
              : dt == DType::I64 ? static_cast<const int64_t*>(labels.data())[i]
              : throw nb::type_error((std::string(name) + ": labels must be int32 or int64").c_str());
    if (v < 0 || v >= classes)
      throw nb::value_error((std::string(name) + ": label " + std::to_string(v) + " at position " + std::to_string(i) +
                             " is outside [0, " + std::to_string(classes) + ")").c_str());
    out[i] = v;
  }
  return out;
}

template <class T>
void xent_rows(const T* x, const int64_t* lab, T* y, int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static) if (rows * n > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    const T m = row_max(xr, n);
    T s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::exp(xr[j] - m);
    y[r] = (m - xr[lab[r]]) + std::log(s);  // as in softmax_rows: keep log(s) out of m's rounding
  }
}

// loss[r] = logsumexp(logits[r, :]) - logits[r, labels[r]]
nb::object sparse_xent_kernel(Array logits, Array labels) {
  const char* name = "sparse_softmax_cross_entropy";
  if (logits.ndim() != 2) throw nb::value_error("sparse_softmax_cross_entropy: logits must be 2-D (rows, classes)");
  const int64_t rows = logits.shape(0), n = logits.shape(1);
  auto lab = checked_labels(name, labels, rows, n);
  LK_DISPATCH_FLOAT(dtype_of(logits.dtype(), name), name, {
    T* y;
    auto out = new_array<T>({(size_t)rows}, &y);
    const T* x = static_cast<const T*>(logits.data());
    {
      nb::gil_scoped_release nogil;
      xent_rows<T>(x, lab.data(), y, rows, n);
    }
    return out;
  });
  return nb::none();
}

// dlogits[r, :] = g[r] * (softmax(logits[r, :]) - onehot(labels[r]))
nb::object sparse_xent_grad_kernel(Array logits, Array labels, Array g) {
  const char* name = "sparse_softmax_cross_entropy_grad";
  if (logits.ndim() != 2) throw nb::value_error("sparse_softmax_cross_entropy_grad: logits must be 2-D");
  const int64_t rows = logits.shape(0), n = logits.shape(1);
  auto lab = checked_labels(name, labels, rows, n);
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
      softmax_rows<false, T>(x, y, rows, n);
      for (int64_t r = 0; r < rows; ++r) {
        T* yr = y + r * n;
        yr[lab[r]] -= T(1);
        for (int64_t j = 0; j < n; ++j) yr[j] *= gp[r];
      }
    }
    return out;
  });
  return nb::none();
}

}  // namespace

void bind_nn(nb::module_& m) {
  def_kernel(m, "softmax", [](Array x) { return softmax_kernel<false>("softmax", x); }, nb::arg("x"));
  def_kernel(m, "log_softmax", [](Array x) { return softmax_kernel<true>("log_softmax", x); }, nb::arg("x"));
  def_kernel(m, "sparse_softmax_cross_entropy", &sparse_xent_kernel, nb::arg("logits"), nb::arg("labels"));
  def_kernel(m, "sparse_softmax_cross_entropy_grad", &sparse_xent_grad_kernel, nb::arg("logits"),
             nb::arg("labels"), nb::arg("g"));
}

}  // namespace layerkit::core
