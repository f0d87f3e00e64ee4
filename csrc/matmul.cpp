// Matrix products through the tuned BLAS (OpenBLAS from the scipy-openblas32 wheel).
#include <cblas.h>

#include "common.h"

namespace layerkit::core {
namespace {

inline void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* a, const float* b, float* c) {
  scipy_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (blasint)M, (blasint)N, (blasint)K, 1.0f, a, (blasint)(ta ? M : K), b,
                    (blasint)(tb ? K : N), 0.0f, c, (blasint)N);
}
inline void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* a, const double* b, double* c) {
  scipy_cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (blasint)M, (blasint)N, (blasint)K, 1.0, a, (blasint)(ta ? M : K), b,
                    (blasint)(tb ? K : N), 0.0, c, (blasint)N);
}

// C[b] = op(A[b]) @ op(B[b]); A is (M,K) or (batch,M,K) (transposed storage when ta), likewise B.
// A 2-D operand is shared by every batch; a 3-D A against a 2-D B is one tall GEMM.
nb::object matmul_kernel(Array a, Array b, bool ta, bool tb) {
  const char* name = "matmul";
  if (a.ndim() < 2 || a.ndim() > 3 || b.ndim() < 2 || b.ndim() > 3)
    throw nb::value_error("matmul: expected 2-D or 3-D operands");
  DType dt = dtype_of(a.dtype(), name);
  if (dt != dtype_of(b.dtype(), name)) throw nb::type_error("matmul: both operands must have the same dtype");
  const int64_t ba = a.ndim() == 3 ? (int64_t)a.shape(0) : 1, bb = b.ndim() == 3 ? (int64_t)b.shape(0) : 1;
  const size_t ra = a.ndim() - 2, rb = b.ndim() - 2;
  const int64_t M = ta ? a.shape(ra + 1) : a.shape(ra), Ka = ta ? a.shape(ra) : a.shape(ra + 1);
  const int64_t Kb = tb ? b.shape(rb + 1) : b.shape(rb), N = tb ? b.shape(rb) : b.shape(rb + 1);
  if (Ka != Kb)
    throw nb::value_error(("matmul: inner dimensions differ: " + std::to_string(Ka) + " vs " + std::to_string(Kb)).c_str());
  if (a.ndim() == 3 && b.ndim() == 3 && ba != bb && ba != 1 && bb != 1)
    throw nb::value_error("matmul: batch dimensions differ");
  // a 2-D operand or a batch of one is shared; an empty batch stays empty (max() would make it 1)
  const int64_t batch = a.ndim() == 3 && (b.ndim() == 2 || ba != 1) ? ba : bb;
  const bool batched = a.ndim() == 3 || b.ndim() == 3;
  std::vector<size_t> shape = batched ? std::vector<size_t>{(size_t)batch, (size_t)M, (size_t)N}
                                      : std::vector<size_t>{(size_t)M, (size_t)N};
  LK_DISPATCH_FLOAT(dt, name, {
    T* c;
    auto out = new_array<T>(shape, &c);
    const T* pa = static_cast<const T*>(a.data());
    const T* pb = static_cast<const T*>(b.data());
    {
      nb::gil_scoped_release nogil;
      if (M * N == 0) {
      } else if (Ka == 0) {
        std::fill(c, c + batch * M * N, T(0));
      } else if (a.ndim() == 3 && b.ndim() == 2 && !ta && ba == batch) {
        gemm(false, tb, batch * M, N, Ka, pa, pb, c);
      } else {
        for (int64_t i = 0; i < batch; ++i)
          gemm(ta, tb, M, N, Ka, pa + (ba == 1 ? 0 : i * M * Ka), pb + (bb == 1 ? 0 : i * Ka * N), c + i * M * N);
      }
    }
    return out;
  });
  return nb::none();
}

}  // namespace

void bind_matmul(nb::module_& m) {
  def_kernel(m, "matmul", &matmul_kernel, nb::arg("a"), nb::arg("b"), nb::arg("transpose_a") = false,
             nb::arg("transpose_b") = false);
}

}  // namespace layerkit::core
