// GEMM on layerkit's one thread pool. OpenBLAS runs single-threaded inside layerkit (see
// blas_on_caller) and every parallel GEMM splits its result over OpenMP threads, each calling
// the one-thread BLAS on its own tile. Two pools on two cores fight: OpenBLAS's pthreads spin for
// a long while after each call, and an OpenMP kernel that runs next (an elementwise pass, a conv
// chunk) then shares its cores with them and takes about twice as long.
#pragma once

#include <omp.h>

#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace layerkit::core {

// Keeps OpenBLAS on the calling thread. threadpoolctl or the user may have raised its count, and a
// multi-threaded OpenBLAS called from OpenMP threads oversubscribes the cores (OpenBLAS warns that
// this may hang). Every section that calls BLAS calls this first, outside any parallel region.
inline void blas_on_caller() {
  if (scipy_openblas_get_num_threads() != 1) scipy_openblas_set_num_threads(1);
}

// Row-major C = op(A) @ op(B) + beta * C on the calling thread (after blas_on_caller).
inline void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                      const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), 1.0f, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc));
}
inline void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
                      const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), 1.0, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc));
}

// Below this many flops a GEMM runs on the calling thread: a team's start costs about as much.
constexpr double kGemmParallelFlops = 1 << 21;
// From this many elements of B a GEMM with few rows is split too: it is bound by reading B, and
// each thread then reads its half from its own core's cache (W5's 256x256 layer at batch 1:
// 3.6 us on one thread, 2.2-2.9 us on two).
constexpr int64_t kGemmParallelB = 1 << 16;
// Tile edges are multiples of this, so every tile keeps whole BLAS micro-kernel blocks.
constexpr int64_t kGemmTileAlign = 16;

// Splits [0, n) into `count` (at most `parts`) ranges of whole kGemmTileAlign blocks; range i is
// [lo(i), hi(i)).
struct Split {
  int64_t n, per, count;
  Split(int64_t n_, int64_t parts) : n(n_) {
    const int64_t blocks = (n + kGemmTileAlign - 1) / kGemmTileAlign;
    count = std::max<int64_t>(1, std::min(parts, blocks));
    per = (blocks + count - 1) / count * kGemmTileAlign;
    count = (n + per - 1) / per;
  }
  int64_t lo(int64_t i) const { return std::min(n, i * per); }
  int64_t hi(int64_t i) const { return std::min(n, (i + 1) * per); }
};

// From this ratio of the inner dimension to the result's longer side a GEMM is split along K
// (weight gradients over many rows: a Dense layer applied to every step of a sequence, W6's LSTM):
// each thread then reads its own part of both operands, where splitting the small result makes
// both threads read all of the shared one (W6's 128x5120 @ 5120x512: 2.35 ms, split by columns
// 2.74).
constexpr int64_t kGemmSplitK = 4;

// The per-thread partial results of split_k_gemm: kept from call to call (a fresh buffer of this
// size would be mapped and faulted in at every call).
template <class T>
T* split_k_scratch(size_t n) {
  static thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// par_gemm split along K over `nt` threads: thread 0 computes C = beta * C + its part, thread t > 0
// its part into scratch; after a barrier the threads add the parts into C by rows (a fixed
// order: deterministic) and run the epilogue on their rows.
template <class T, class Epilogue>
void split_k_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb,
                  T beta, T* c, int64_t ldc, int nt, Epilogue&& epilogue) {
  T* parts = split_k_scratch<T>(size_t(M * N * (nt - 1)));
  blas_on_caller();
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t k0 = K * t / n, k1 = K * (t + 1) / n;
    const T* at = a + (ta ? k0 * lda : k0);
    const T* bt = b + (tb ? k0 : k0 * ldb);
    if (t == 0) blas_gemm(ta, tb, M, N, k1 - k0, at, lda, bt, ldb, beta, c, ldc);
    else blas_gemm(ta, tb, M, N, k1 - k0, at, lda, bt, ldb, T(0), parts + (t - 1) * M * N, N);
#pragma omp barrier
    const int64_t r0 = M * t / n, r1 = M * (t + 1) / n;
    for (int p = 1; p < n; ++p)
      for (int64_t r = r0; r < r1; ++r) {
        T* __restrict cr = c + r * ldc;
        const T* __restrict pr = parts + ((p - 1) * M + r) * N;
        for (int64_t j = 0; j < N; ++j) cr[j] += pr[j];
      }
    if (r1 > r0) epilogue(r0, r1, int64_t(0), N);
  }
}

// C = op(A) @ op(B) + beta * C (row-major, leading dims lda/ldb/ldc) split over OpenMP threads
// along the longer of M and N: the other operand, packed by every thread, is then the smaller one.
// epilogue(r0, r1, c0, c1) runs on the thread that computed C[r0:r1, c0:c1], right after its GEMM,
// while the tile is still in that core's cache. Deterministic: each C element has one owner.
template <class T, class Epilogue>
void par_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb,
              T beta, T* c, int64_t ldc, Epilogue&& epilogue) {
  if (M <= 0 || N <= 0) return;
  if (!omp_in_parallel()) blas_on_caller();
  auto tile = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    if (K > 0) {
      blas_gemm(ta, tb, r1 - r0, c1 - c0, K, a + (ta ? r0 : r0 * lda), lda, b + (tb ? c0 * ldb : c0), ldb, beta,
                c + r0 * ldc + c0, ldc);
    } else {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = c0; j < c1; ++j) c[r * ldc + j] = beta == T(0) ? T(0) : beta * c[r * ldc + j];
    }
    epilogue(r0, r1, c0, c1);
  };
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  const bool rows = M >= N;
  // worth a team: enough flops, or (a matrix-vector product, bound by reading B) enough of B
  const bool big = 2.0 * M * N * std::max<int64_t>(K, 1) >= kGemmParallelFlops || K * N >= kGemmParallelB;
  if (big && nt > 1 && K >= kGemmSplitK * std::max(M, N)) return split_k_gemm(ta, tb, M, N, K, a, lda, b, ldb, beta, c, ldc, nt, epilogue);
  const Split split(rows ? M : N, big ? nt : 1);
  if (split.count < 2) return tile(0, M, 0, N);
#pragma omp parallel for schedule(static) num_threads(int(split.count))
  for (int64_t i = 0; i < split.count; ++i) {
    if (rows) tile(split.lo(i), split.hi(i), 0, N);
    else tile(0, M, split.lo(i), split.hi(i));
  }
}

template <class T>
void par_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb,
              T beta, T* c, int64_t ldc) {
  par_gemm(ta, tb, M, N, K, a, lda, b, ldb, beta, c, ldc, [](int64_t, int64_t, int64_t, int64_t) {});
}

}  // namespace layerkit::core
