// layerkit._core: the compute core. Kernel families live one per file; this file only wires
// them into the module and exposes the kernel list and thread control.
#include <omp.h>

#include <cstdlib>  // defines __GLIBC__ on glibc systems
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define LK_NUMPY_IMPORT  // this translation unit owns numpy's C-API table
#include "common.h"
#include "elementwise_ops.h"
#include "executor.h"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

namespace layerkit::core {
std::vector<std::string>& kernel_names() {
  static std::vector<std::string> names;
  return names;
}
}  // namespace layerkit::core

using namespace layerkit::core;

NB_MODULE(_core, m) {
  m.doc() = "layerkit compute core: C++ kernels over numpy-visible buffers (GIL released).";
  if (_import_array() < 0) throw nb::python_error();
#ifdef __GLIBC__
  // Training steps allocate and free the same large activation buffers every step. By default
  // glibc maps each large buffer fresh from the OS and unmaps it when freed, so every step pays
  // page faults on megabytes of new memory. Serving blocks up to 256 MiB from the heap and
  // keeping up to 1 GiB of freed memory for reuse makes later steps allocate without faults
  // (the W3 CNN step: 54 -> 43 ms). Peak memory is unchanged; freed memory is returned lazily.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  bind_elementwise(m);
  bind_reduce(m);
  bind_matmul(m);
  bind_nn(m);
  bind_layout(m);
  bind_conv(m);
  bind_pool(m);
  bind_fused(m);
  bind_recurrent(m);
  bind_executor(m);
  // Compiled functions held by module globals or uncollected cycles at interpreter exit keep
  // their NativePlan alive; it owns no Python references, so nothing is lost, and nanobind's
  // exit-time report of such survivors would only alarm users.
  nb::set_leak_warnings(false);
  m.def("kernel_names", []() { return kernel_names(); },
        "Names of every kernel this core provides.");
  // One thread pool: OpenBLAS (this copy is layerkit's own; numpy links another) runs on the
  // calling thread and par_gemm spreads GEMMs over the OpenMP threads (see gemm.h).
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw nb::value_error("set_num_threads: expected n >= 1");
    omp_set_num_threads(n);
  }, nb::arg("n"));
  m.def("get_num_threads", []() { return omp_get_max_threads(); });
  m.def("_set_isa_level", &set_isa_level, nb::arg("cap"),
        "The highest SIMD level the kernels may take: 4 (AVX-512), 3 (AVX2 + FMA) or 0 (baseline loops); returns "
        "the previous cap. For tests, which compare the levels.");
  m.def("_isa_level", &isa_level, "The SIMD level the kernels take now (the cap, or less on this CPU).");
}
