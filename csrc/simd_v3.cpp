// The SIMD kernels of simd_isa.h for x86-64-v3 (AVX2 + FMA): see simd.h.
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <new>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC target("avx2,fma")
#define LK_ISA x86_64_v3
#define LK_NO_ISA_DISPATCH
#define LK_DIRECT_PIX 3
#define LK_VEC 8
#define LK_GEMM_MR 6
#include "simd_isa.h"
#endif
