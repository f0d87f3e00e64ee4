// NumPy broadcasting as loop plans: the output shape and, per operand, element strides over the
// output index space (0 where the operand is broadcast). Adjacent axes contiguous for every
// operand are merged, so most patterns reduce to one or two loop axes. N = operand slots.
#pragma once
#include <algorithm>
#include <array>

#include "common.h"

namespace layerkit::core {

template <size_t N>
struct Plan {
  std::vector<size_t> shape;                    // output shape as the caller sees it
  std::vector<size_t> dims;                     // collapsed loop dims
  std::vector<std::array<int64_t, N>> strides;  // collapsed strides, per operand (unused slots 0)
  size_t size = 1;
};

template <size_t N>
Plan<N> make_plan(const char* op, const std::vector<std::vector<size_t>>& shapes) {
  Plan<N> p;
  size_t nd = 0;
  for (auto& s : shapes) nd = std::max(nd, s.size());
  p.shape.assign(nd, 1);
  for (auto& s : shapes)
    for (size_t i = 0; i < s.size(); ++i) {
      size_t& o = p.shape[nd - s.size() + i];
      if (o == 1) o = s[i];
      else if (s[i] != 1 && s[i] != o) {
        std::string msg = std::string(op) + ": shapes cannot be broadcast together:";
        for (auto& t : shapes) msg += " " + tuple_str(t);
        throw nb::value_error(msg.c_str());
      }
    }
  p.size = numel(p.shape);
  // per-operand strides aligned to the output
  std::vector<std::array<int64_t, N>> st(nd, std::array<int64_t, N>{});
  for (size_t k = 0; k < shapes.size(); ++k) {
    const auto& s = shapes[k];
    int64_t acc = 1;
    for (size_t i = s.size(); i-- > 0;) {
      st[nd - s.size() + i][k] = s[i] == 1 ? 0 : acc;
      acc *= (int64_t)s[i];
    }
  }
  // collapse: drop size-1 dims, merge dim d into d+1 when every operand is contiguous across them
  for (size_t d = 0; d < nd; ++d) {
    if (p.shape[d] == 1) continue;
    if (!p.dims.empty()) {
      auto& ps = p.strides.back();
      bool merge = true;
      for (size_t k = 0; k < shapes.size(); ++k)
        if (ps[k] != st[d][k] * (int64_t)p.shape[d]) merge = false;
      if (merge) {
        p.dims.back() *= p.shape[d];
        ps = st[d];
        continue;
      }
    }
    p.dims.push_back(p.shape[d]);
    p.strides.push_back(st[d]);
  }
  if (p.dims.empty()) {
    p.dims.push_back(1);
    p.strides.push_back(std::array<int64_t, N>{});
  }
  return p;
}

template <class A, class B>
bool same_shape(const A& a, const B& b) {
  if (a.ndim() != b.ndim()) return false;
  for (size_t i = 0; i < a.ndim(); ++i)
    if (a.shape(i) != b.shape(i)) return false;
  return true;
}

// The plan of operands that all have `shape`: one flat, contiguous loop.
template <size_t N>
Plan<N> flat_plan(std::vector<size_t> shape) {
  Plan<N> p;
  p.size = numel(shape);
  p.shape = std::move(shape);
  p.dims = {p.size};
  std::array<int64_t, N> ones;
  ones.fill(1);
  p.strides = {ones};
  return p;
}

// Runs inner(out_offset, operand_offsets, n, inner_strides) over every row of the plan.
template <size_t N, class Inner>
void run_plan(const Plan<N>& p, Inner inner) {
  const size_t nd = p.dims.size();
  const int64_t n = (int64_t)p.dims[nd - 1];
  const int64_t rows = (int64_t)(p.size / std::max<size_t>(n, 1));
  const auto is = p.strides[nd - 1];
  if (p.size == 0) return;
#pragma omp parallel for schedule(static) if ((int64_t)p.size > kParallelGrain && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    std::array<int64_t, N> off{};
    int64_t rem = r;
    for (size_t d = nd - 1; d-- > 0;) {
      int64_t i = rem % (int64_t)p.dims[d];
      rem /= (int64_t)p.dims[d];
      for (size_t k = 0; k < N; ++k) off[k] += i * p.strides[d][k];
    }
    inner(r * n, off, n, is);
  }
  // A single long row (rows == 1) is split across threads inside `inner` callers when needed.
}

}  // namespace layerkit::core
