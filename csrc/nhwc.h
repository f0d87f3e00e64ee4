// Argument checks shared by the NHWC kernel families (conv.cpp, pool.cpp): ValueErrors that name
// the op, the argument, what was expected and what was received.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "common.h"

namespace layerkit::core {

using I2 = std::array<int64_t, 2>;
using I4 = std::array<int64_t, 4>;

[[noreturn]] inline void fail(const char* op, const std::string& msg) {
  throw nb::value_error((std::string(op) + ": " + msg).c_str());
}

// The shape of a rank-4 argument.
inline I4 rank4(const char* op, const std::vector<int64_t>& s, const char* name, const char* dims) {
  if (s.size() != 4)
    fail(op, std::string("argument '") + name + "' expected a rank-4 array " + dims +
                 ", received rank " + std::to_string(s.size()) + " with shape " + tuple_str(s));
  return {s[0], s[1], s[2], s[3]};
}

inline std::vector<int64_t> shape_of(const Array& a) {
  std::vector<int64_t> s(a.ndim());
  for (size_t i = 0; i < a.ndim(); ++i) s[i] = static_cast<int64_t>(a.shape(i));
  return s;
}

inline I4 rank4(const char* op, const Array& a, const char* name, const char* dims) {
  return rank4(op, shape_of(a), name, dims);
}

inline void check_shape(const char* op, const char* name, const I4& got, const I4& want, const std::string& why) {
  if (got != want)
    fail(op, std::string("argument '") + name + "' expected shape " + tuple_str(want) + " " + why +
                 ", received " + tuple_str(got));
}

}  // namespace layerkit::core
