// The native plan executor's vocabulary: value slots and step factories. A graph lowered by
// layerkit.graph.native becomes a list of steps over slots; each kernel family registers one
// factory per step kind (in its bind_* function), which validates the slots' shapes and dtypes
// once, when the plan is built, and returns a closure that runs the kernel on the slots' current
// buffers. Steps run with the GIL released and must not touch Python objects.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common.h"

namespace layerkit::core {

// One value of a plan: a C-contiguous buffer of a fixed dtype and shape. `data` points into the
// plan's arena, or at an argument's / variable's buffer set at the start of each run — steps read
// it when they run, never when they are built.
struct Slot {
  void* data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t size() const {
    size_t n = 1;
    for (int64_t d : shape) n *= (size_t)d;
    return n;
  }
  std::vector<size_t> ushape() const { return std::vector<size_t>(shape.begin(), shape.end()); }
  template <class T> T* as() const { return static_cast<T*>(data); }
};

// What a factory receives: the step's integer and float attributes and its operand slots (the
// pointers stay valid as long as the plan lives).
struct StepSpec {
  std::string kernel;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<Slot*> in, out;
};

using StepFn = std::function<void()>;
using StepFactory = StepFn (*)(const StepSpec&);

// Registers the factory of step kind `name` (called from a family's bind_* function).
void register_step(const char* name, StepFactory f);

// Build-time checks shared by factories; they throw ValueError/TypeError naming the step.
void expect_arity(const StepSpec& s, size_t n_in, size_t n_out);
// At least n_in inputs: a backward step may receive the forward's input only for its shape,
// which its output slot already gives.
void expect_min_arity(const StepSpec& s, size_t n_in, size_t n_out);
void expect_ints(const StepSpec& s, size_t n);
void expect_dtype(const StepSpec& s, const Slot* slot, DType dt, const char* what);
void expect_float(const StepSpec& s, const Slot* slot, const char* what);
void expect_shape(const StepSpec& s, const Slot* slot, const std::vector<int64_t>& want, const char* what);
const char* dtype_name(DType d);

void bind_executor(nb::module_& m);

}  // namespace layerkit::core
