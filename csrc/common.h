// Shared vocabulary of the compute core: array types at the nanobind boundary, dtype dispatch,
// output allocation, and the parallel-loop policy. Every kernel family file includes this.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace nb = nanobind;

namespace layerkit::core {

// Any-dtype CPU array with arbitrary strides (layout kernels), and the C-contiguous variant
// most compute kernels require. The Python side (layerkit.backend) keeps tensors contiguous,
// so the contiguous constraint costs no copy on the eager path.
// Inputs are read-only (`nb::ro`): numpy's broadcast views and read-only tensor views pass as
// they are. Outputs written in place (assign) use the mutable MutArray.
using AnyArray = nb::ndarray<nb::ro, nb::device::cpu>;
using Array = nb::ndarray<nb::ro, nb::device::cpu, nb::c_contig>;
using MutArray = nb::ndarray<nb::device::cpu>;
template <class T>
using Out = nb::ndarray<nb::numpy, T>;

enum class DType : int { F32 = 0, F64 = 1, I32 = 2, I64 = 3, Bool = 4 };

inline DType dtype_of(const nb::dlpack::dtype& d, const char* op) {
  if (d == nb::dtype<float>()) return DType::F32;
  if (d == nb::dtype<double>()) return DType::F64;
  if (d == nb::dtype<int32_t>()) return DType::I32;
  if (d == nb::dtype<int64_t>()) return DType::I64;
  if (d == nb::dtype<bool>()) return DType::Bool;
  throw nb::type_error((std::string(op) + ": unsupported dtype (expected float32, float64, int32, int64 or bool)").c_str());
}

template <class A>
inline std::vector<size_t> shape_of(const A& a) {
  std::vector<size_t> s(a.ndim());
  for (size_t i = 0; i < a.ndim(); ++i) s[i] = a.shape(i);
  return s;
}

inline size_t numel(const std::vector<size_t>& shape) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

// A new numpy-owned array; the buffer is freed when numpy releases it. Call with the GIL held.
template <class T>
Out<T> new_array(const std::vector<size_t>& shape, T** data) {
  size_t n = numel(shape);
  T* buf = new T[n > 0 ? n : 1];
  nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  *data = buf;
  return Out<T>(buf, shape.size(), shape.data(), owner);
}

// Loops shorter than this run on one thread: starting the OpenMP team costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;

// Run `body(T{})` with T the C++ type for `dt` among the floating types.
#define LK_DISPATCH_FLOAT(dt, op, ...)                                         \
  switch (dt) {                                                                \
    case DType::F32: { using T = float; __VA_ARGS__; break; }                  \
    case DType::F64: { using T = double; __VA_ARGS__; break; }                 \
    default: throw nb::type_error((std::string(op) +                           \
        ": expected a float32 or float64 array").c_str());                     \
  }

// Same over every numeric type (bool excluded).
#define LK_DISPATCH_NUMERIC(dt, op, ...)                                       \
  switch (dt) {                                                                \
    case DType::F32: { using T = float; __VA_ARGS__; break; }                  \
    case DType::F64: { using T = double; __VA_ARGS__; break; }                 \
    case DType::I32: { using T = int32_t; __VA_ARGS__; break; }                \
    case DType::I64: { using T = int64_t; __VA_ARGS__; break; }                \
    default: throw nb::type_error((std::string(op) +                           \
        ": expected a numeric array, received bool").c_str());                 \
  }

// The kernel list: every kernel is bound through def_kernel, which records its name, so the
// Python op registry can be checked against what the core really provides (one list, no copy).
std::vector<std::string>& kernel_names();

template <class F, class... Extra>
void def_kernel(nb::module_& m, const char* name, F&& f, const Extra&... extra) {
  kernel_names().push_back(name);
  m.def(name, std::forward<F>(f), extra...);
}

// Registration hooks: each kernel family file defines one and module.cpp calls them all.
void bind_elementwise(nb::module_& m);
void bind_reduce(nb::module_& m);
void bind_matmul(nb::module_& m);
void bind_nn(nb::module_& m);
void bind_layout(nb::module_& m);
void bind_conv(nb::module_& m);
void bind_pool(nb::module_& m);

}  // namespace layerkit::core
