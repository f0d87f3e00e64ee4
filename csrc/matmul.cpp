// Matrix products through the tuned BLAS (OpenBLAS from the scipy-openblas32 wheel), split over
// layerkit's OpenMP threads by par_gemm.
#include "common.h"
#include "elementwise_ops.h"
#include "executor.h"
#include "gemm.h"

namespace layerkit::core {
namespace {

// C[i] = op(A[i]) @ op(B[i]) for i < batch; an operand that is not batched is shared by every i.
// A batched A against a shared, untransposed B is one tall GEMM. A batch that shares out evenly over
// the threads runs whole products per thread; otherwise each product is split over the threads.
template <class T>
void matmul_run(int64_t batch, int64_t M, int64_t N, int64_t K, bool ta, bool tb, bool a_batched, bool b_batched,
                const T* pa, const T* pb, T* c) {
  if (M * N == 0 || batch == 0) return;
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  if (a_batched && !b_batched && !ta) return par_gemm(false, tb, batch * M, N, K, pa, lda, pb, ldb, T(0), c, N);
  auto one = [&](int64_t i, bool split) {
    const T* a = pa + (a_batched ? i * M * K : 0);
    const T* b = pb + (b_batched ? i * K * N : 0);
    if (split) par_gemm(ta, tb, M, N, K, a, lda, b, ldb, T(0), c + i * M * N, N);
    else if (K > 0) blas_gemm(ta, tb, M, N, K, a, lda, b, ldb, T(0), c + i * M * N, N);
    else std::fill(c + i * M * N, c + (i + 1) * M * N, T(0));
  };
  blas_on_caller();
  const int nt = omp_get_max_threads();
  const double flops = 2.0 * M * N * std::max<int64_t>(K, 1);
  if (batch % nt == 0 || batch >= 4 * nt) {
#pragma omp parallel for schedule(static) if (flops * batch >= kGemmParallelFlops)
    for (int64_t i = 0; i < batch; ++i) one(i, false);
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i, true);
  }
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
    {
      nb::gil_scoped_release nogil;
      matmul_run<T>(batch, M, N, Ka, ta, tb, ba != 1, bb != 1, static_cast<const T*>(a.data()),
                    static_cast<const T*>(b.data()), c);
    }
    return out;
  });
  return nb::none();
}

// y = act(x @ op(w) + bias): each thread's GEMM tile gets its bias and activation right after it is
// computed, while it is still in that core's cache. x is (M, K); w is (K, N),
// or (N, K) when tw; bias is (N,); act is an elementwise op code or -1 for none.
template <class T>
void linear_typed(const T* x, const T* w, const T* bias, T* y, int64_t M, int64_t N, int64_t K, bool tw, int act) {
  par_gemm(false, tw, M, N, K, x, K, w, tw ? K : N, T(0), y, N, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    bias_act_rows(y + r0 * N + c0, r1 - r0, N, c1 - c0, bias + c0, act);
  });
}

nb::object linear_kernel(Array x, Array w, Array bias, bool tw, int act) {
  const char* name = "linear";
  if (x.ndim() != 2 || w.ndim() != 2 || bias.ndim() != 1) throw nb::value_error("linear: expected x (M, K), w 2-D, bias 1-D");
  DType dt = dtype_of(x.dtype(), name);
  if (dt != dtype_of(w.dtype(), name) || dt != dtype_of(bias.dtype(), name))
    throw nb::type_error("linear: x, w and bias must share a dtype");
  const int64_t M = x.shape(0), K = x.shape(1);
  const int64_t Kw = tw ? w.shape(1) : w.shape(0), N = tw ? w.shape(0) : w.shape(1);
  if (K != Kw || (int64_t)bias.shape(0) != N) throw nb::value_error("linear: operand shapes do not match");
  if (!valid_activation(act)) throw nb::value_error("linear: unknown activation code");
  LK_DISPATCH_FLOAT(dt, name, {
    T* y;
    auto out = new_array<T>({(size_t)M, (size_t)N}, &y);
    {
      NoGil nogil((size_t)(M * N * std::max<int64_t>(K, 1)));
      linear_typed<T>(static_cast<const T*>(x.data()), static_cast<const T*>(w.data()),
                      static_cast<const T*>(bias.data()), y, M, N, K, tw, act);
    }
    return out;
  });
  return nb::none();
}


// ---- native steps ----------------------------------------------------------------------------
void expect_size(const StepSpec& s, const Slot* slot, int64_t n, const char* what) {
  if ((int64_t)slot->size() != n)
    throw nb::value_error((s.kernel + ": " + what + " has " + std::to_string(slot->size()) + " elements, expected " +
                           std::to_string(n)).c_str());
}

// ints: [batch, M, N, K, transpose_a, transpose_b, a_batched, b_batched]; operands of any rank
// holding (batch or 1) x M x K and (batch or 1) x K x N elements, result batch x M x N
StepFn matmul_step(const StepSpec& s) {
  expect_arity(s, 2, 1);
  expect_ints(s, 8);
  const int64_t batch = s.ints[0], M = s.ints[1], N = s.ints[2], K = s.ints[3];
  const bool ta = s.ints[4], tb = s.ints[5], ab = s.ints[6], bb = s.ints[7];
  if (batch < 0 || M < 0 || N < 0 || K < 0) throw nb::value_error("matmul: negative size");
  Slot *a = s.in[0], *b = s.in[1], *c = s.out[0];
  expect_dtype(s, b, a->dtype, "both operands");
  expect_dtype(s, c, a->dtype, "the result");
  expect_size(s, a, (ab ? batch : 1) * M * K, "a");
  expect_size(s, b, (bb ? batch : 1) * K * N, "b");
  expect_size(s, c, batch * M * N, "the result");
  StepFn fn;
  LK_DISPATCH_FLOAT(a->dtype, "matmul",
                    fn = [=]() { matmul_run<T>(batch, M, N, K, ta, tb, ab, bb, a->as<T>(), b->as<T>(), c->as<T>()); });
  return fn;
}

// ints: [M, N, K, transpose_w, activation code or -1]; in: x (M*K elements), w, bias (N)
StepFn linear_step(const StepSpec& s) {
  expect_arity(s, 3, 1);
  expect_ints(s, 5);
  const int64_t M = s.ints[0], N = s.ints[1], K = s.ints[2];
  const bool tw = s.ints[3];
  const int act = (int)s.ints[4];
  if (M < 0 || N < 0 || K < 0) throw nb::value_error("linear: negative size");
  if (!valid_activation(act)) throw nb::value_error("linear: unknown activation code");
  Slot *x = s.in[0], *w = s.in[1], *bias = s.in[2], *y = s.out[0];
  for (const Slot* o : {w, bias, y}) expect_dtype(s, o, x->dtype, "every operand");
  expect_size(s, x, M * K, "x");
  expect_size(s, w, K * N, "w");
  expect_size(s, bias, N, "bias");
  expect_size(s, y, M * N, "the result");
  StepFn fn;
  LK_DISPATCH_FLOAT(x->dtype, "linear",
                    fn = [=]() { linear_typed<T>(x->as<T>(), w->as<T>(), bias->as<T>(), y->as<T>(), M, N, K, tw, act); });
  return fn;
}

}  // namespace

void bind_matmul(nb::module_& m) {
  def_kernel(m, "linear", &linear_kernel, nb::arg("x"), nb::arg("w"), nb::arg("bias"), nb::arg("transpose_w"),
             nb::arg("activation"));
  def_kernel(m, "matmul", &matmul_kernel, nb::arg("a"), nb::arg("b"), nb::arg("transpose_a") = false,
             nb::arg("transpose_b") = false);
  register_step("matmul", &matmul_step);
  register_step("linear", &linear_step);
}

}  // namespace layerkit::core
