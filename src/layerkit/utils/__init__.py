"""Utilities users call directly."""
import random as _py_random

import numpy as np


def set_random_seed(seed):
    """Makes a whole program reproducible: seeds Python's `random`, NumPy's global generator and
    the generator layerkit draws unseeded random ops and SeedGenerators from."""
    from layerkit.random import _set_global_seed

    _py_random.seed(seed)
    np.random.seed(seed)
    _set_global_seed(seed)


from layerkit.utils.plot_model import model_to_dot, plot_model  # noqa: E402
