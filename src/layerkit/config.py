"""Global settings: the default float type and the number of compute threads."""
import numpy as np

from layerkit.backend import core, floatx, set_floatx

__all__ = ["floatx", "set_floatx", "set_num_threads", "get_num_threads"]


def set_num_threads(n):
    """Sets the threads used by layerkit's kernels and by its BLAS alike."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, received {n!r}.")
    core.set_num_threads(int(n))


def get_num_threads():
    return core.get_num_threads()
