// The body of one SIMD compilation of the float32 exp, tanh and sigmoid loops: included by
// unary_v3.cpp and unary_v4.cpp after they set the target and LK_ISA (the inline namespace that
// keeps each compilation's copies of the header's inline functions apart).
#pragma once
#include "elementwise_ops.h"

namespace layerkit::core::LK_ISA {
namespace {
template <U op>
__attribute__((noinline)) void run(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = unary_apply<op, float>(x[i]);
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
}  // namespace layerkit::core::LK_ISA
