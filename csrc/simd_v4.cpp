// The SIMD kernels of simd_isa.h for x86-64-v4 (AVX-512 F/VL/DQ/BW, used at 256 bits): mask
// registers make the polynomials' edge-case selects cheap, twice the speed of x86-64-v3. See
// simd.h.
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <new>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#define LK_ISA x86_64_v4
#define LK_NO_ISA_DISPATCH
#define LK_DIRECT_PIX 6
#define LK_VEC 16
#define LK_GEMM_MR 8
#include "simd_isa.h"
#endif
