"""The only door to the compute core: loading `_core`, dtypes and array conversion.

Everything above this package calls kernels through `backend.core` and never imports
`layerkit._core` itself.
"""
import ctypes
import os

import numpy as np


# Every kernel, GEMMs included, runs on one OpenMP team (OpenBLAS is kept single-threaded and
# each thread calls it on its own tile). Between two kernels the team's threads should spin
# briefly rather than sleep: waking a sleeping thread costs tens of microseconds, as much as a
# small GEMM. libgomp's default spins for milliseconds after every parallel loop, burning a core
# while Python runs; about 0.3 ms covers the gaps inside a step. Set before libgomp loads; a wait
# policy or spin count the user set is kept.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "30000")


def _load_core():
    # The core links against the OpenBLAS of the scipy-openblas32 wheel. Its install RPATH finds
    # it next to us in site-packages; preloading it also covers editable and in-tree builds.
    try:
        import scipy_openblas32

        lib = os.path.join(scipy_openblas32.get_lib_dir(), "lib" + scipy_openblas32.get_library() + ".so")
        if os.path.exists(lib):
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
    except ImportError:  # the RPATH may still resolve it
        pass
    from layerkit import _core

    return _core


core = _load_core()

from layerkit.backend.dtypes import (  # noqa: E402
    DTYPE_CODES,
    FLOAT_DTYPES,
    INT_DTYPES,
    SUPPORTED as SUPPORTED_DTYPES,
    floatx,
    is_float_dtype,
    is_int_dtype,
    result_type,
    set_floatx,
    standardize_dtype,
)
from layerkit.backend.arrays import as_array, contiguous  # noqa: E402

__all__ = [
    "core", "np", "DTYPE_CODES", "FLOAT_DTYPES", "INT_DTYPES", "SUPPORTED_DTYPES", "floatx", "set_floatx", "is_float_dtype",
    "is_int_dtype", "result_type", "standardize_dtype", "as_array", "contiguous",
]
