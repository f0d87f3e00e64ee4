"""The only door to the compute core: loading `_core`, dtypes and array conversion.

Everything above this package calls kernels through `backend.core` and never imports
`layerkit._core` itself.
"""
import ctypes
import os

import numpy as np


# Kernels use OpenMP threads and GEMMs use OpenBLAS's own thread pool. With OpenMP's default
# active waiting, the team spins for milliseconds after every parallel loop — on the very cores
# OpenBLAS needs next — and a GEMM after an elementwise kernel runs many times slower. Passive
# waiting hands the cores back at once. It must be set before libgomp loads; a value the user set
# is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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
