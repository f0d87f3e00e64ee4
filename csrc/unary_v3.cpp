// The float32 transcendental loops for x86-64-v3 (AVX2 + FMA): see unary_simd.cpp.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC target("avx2,fma")
#define LK_ISA x86_64_v3
#define LK_NO_ISA_DISPATCH
#include "unary_isa.h"
#endif
