// Shared vocabulary of the compute core: arrays at the Python boundary, dtype dispatch, output
// allocation, and the parallel-loop policy. Every kernel family file includes this.
#pragma once
#include <nanobind/nanobind.h>

// numpy's C API: one function table shared by every translation unit, imported in module.cpp.
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL layerkit_core_ARRAY_API
#ifndef LK_NUMPY_IMPORT
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace nb = nanobind;

namespace layerkit::core {

// ---- arrays at the boundary -----------------------------------------------------------------
// Kernels take and return numpy arrays through numpy's C API directly: borrowing an input costs
// a type check and allocating an output one PyArray_SimpleNew, where a generic ndarray
// conversion costs ~0.3 us per argument — most of an eager op on a small tensor.
// NpView<contiguous, writable> offers the accessors of nb::ndarray (strides in elements).
struct NpType {
  int num;
  bool operator==(const NpType& o) const { return num == o.num; }
};

template <bool Contig, bool Writable>
struct NpView {
  PyArrayObject* a = nullptr;
  nb::object keep;  // owns a converted copy when the argument was not a fitting array
  size_t ndim() const { return (size_t)PyArray_NDIM(a); }
  size_t shape(size_t i) const { return (size_t)PyArray_DIM(a, (int)i); }
  int64_t stride(size_t i) const { return (int64_t)(PyArray_STRIDE(a, (int)i) / PyArray_ITEMSIZE(a)); }
  size_t size() const { return (size_t)PyArray_SIZE(a); }
  size_t itemsize() const { return (size_t)PyArray_ITEMSIZE(a); }
  NpType dtype() const { return NpType{PyArray_TYPE(a)}; }
  std::conditional_t<Writable, void*, const void*> data() const { return PyArray_DATA(a); }
};

using AnyArray = NpView<false, false>;  // any strides, read-only (broadcast views pass as they are)
using Array = NpView<true, false>;      // C-contiguous, read-only
using MutArray = NpView<false, true>;   // written in place

enum class DType : int { F32 = 0, F64 = 1, I32 = 2, I64 = 3, Bool = 4 };

inline DType dtype_of(NpType t, const char* op) {
  switch (t.num) {
    case NPY_FLOAT32: return DType::F32;
    case NPY_FLOAT64: return DType::F64;
    case NPY_INT32: return DType::I32;
    case NPY_INT64: return DType::I64;
    case NPY_BOOL: return DType::Bool;
    default: break;
  }
  throw nb::type_error((std::string(op) + ": unsupported dtype (expected float32, float64, int32, int64 or bool)").c_str());
}

template <class T> constexpr int npy_type();
template <> constexpr int npy_type<float>() { return NPY_FLOAT32; }
template <> constexpr int npy_type<double>() { return NPY_FLOAT64; }
template <> constexpr int npy_type<int32_t>() { return NPY_INT32; }
template <> constexpr int npy_type<int64_t>() { return NPY_INT64; }
template <> constexpr int npy_type<bool>() { return NPY_BOOL; }

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

// A shape or tuple as Python prints it: (2, 3), (4,), ().
template <class S>
std::string tuple_str(const S& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

// A new C-contiguous numpy array of numpy type `typenum`. Call with the GIL held.
inline nb::object new_array_of(const std::vector<size_t>& shape, int typenum, void** data) {
  std::vector<npy_intp> dims(shape.begin(), shape.end());
  PyObject* arr = PyArray_SimpleNew((int)dims.size(), dims.data(), typenum);
  if (!arr) throw nb::python_error();
  *data = PyArray_DATA((PyArrayObject*)arr);
  return nb::steal(arr);
}

template <class T>
nb::object new_array(const std::vector<size_t>& shape, T** data) {
  void* p;
  nb::object out = new_array_of(shape, npy_type<T>(), &p);
  *data = static_cast<T*>(p);
  return out;
}

// Loops shorter than this run on one thread: starting the OpenMP team costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 16;

// The GIL is released around kernels with at least this much work; for tiny ones the release and
// re-acquire (~0.1 us) would cost more than another Python thread could gain.
constexpr size_t kGilGrain = 1 << 12;

class NoGil {
 public:
  explicit NoGil(size_t work) {
    if (work >= kGilGrain) state_ = PyEval_SaveThread();
  }
  ~NoGil() {
    if (state_) PyEval_RestoreThread(state_);
  }
  NoGil(const NoGil&) = delete;
  NoGil& operator=(const NoGil&) = delete;

 private:
  PyThreadState* state_ = nullptr;
};

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

// Same over every dtype, bool included.
#define LK_DISPATCH_ALL(dt, ...)                                         \
  switch (dt) {                                                         \
    case DType::F32: { using T = float; __VA_ARGS__; break; }           \
    case DType::F64: { using T = double; __VA_ARGS__; break; }          \
    case DType::I32: { using T = int32_t; __VA_ARGS__; break; }         \
    case DType::I64: { using T = int64_t; __VA_ARGS__; break; }         \
    case DType::Bool: { using T = bool; __VA_ARGS__; break; }           \
  }

inline size_t itemsize_of(DType d) { return d == DType::F64 || d == DType::I64 ? 8 : (d == DType::Bool ? 1 : 4); }

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
void bind_fused(nb::module_& m);
void bind_recurrent(nb::module_& m);

}  // namespace layerkit::core


// Python arguments -> NpView: a fitting numpy array is borrowed as it is; anything else (a list,
// a non-contiguous array for a contiguous parameter) becomes a new array when the binding allows
// conversion. Writable parameters never convert: writing into a copy would be lost silently.
namespace nanobind::detail {
template <bool Contig, bool Writable>
struct type_caster<layerkit::core::NpView<Contig, Writable>> {
  using View = layerkit::core::NpView<Contig, Writable>;
  NB_TYPE_CASTER(View, const_name("numpy.ndarray"))

  bool from_python(handle src, uint8_t flags, cleanup_list*) noexcept {
    PyObject* o = src.ptr();
    if (PyArray_Check(o)) {
      auto* a = reinterpret_cast<PyArrayObject*>(o);
      bool fits = PyArray_ISALIGNED(a) && PyArray_ISNOTSWAPPED(a) && (!Contig || PyArray_IS_C_CONTIGUOUS(a)) &&
                  (!Writable || PyArray_ISWRITEABLE(a));
      if (fits) {
        value.a = a;
        return true;
      }
    }
    if (Writable || !(flags & (uint8_t)cast_flags::convert)) return false;
    PyObject* c = PyArray_FromAny(o, nullptr, 0, 0, NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED, nullptr);
    if (!c) {
      PyErr_Clear();
      return false;
    }
    value.keep = steal(c);
    value.a = reinterpret_cast<PyArrayObject*>(c);
    return true;
  }

  static handle from_cpp(const View& v, rv_policy, cleanup_list*) noexcept {
    return handle(reinterpret_cast<PyObject*>(v.a)).inc_ref();
  }
};
}  // namespace nanobind::detail
