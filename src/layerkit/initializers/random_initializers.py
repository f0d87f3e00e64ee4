"""Random initializers: `RandomNormal`, `RandomUniform`, `TruncatedNormal` and `Orthogonal`, and
the `RandomInitializer` base that handles their seeds.

Seeds follow Keras 3:

- an int seed gives the same values on every call (and in every instance with that seed);
- a `layerkit.random.SeedGenerator` gives new values on every call, reproducibly;
- `seed=None` draws an int seed once, when the initializer is constructed (from layerkit's global
  generator, so `lk.utils.set_random_seed` makes it reproducible). An unseeded instance therefore
  also returns the same values on every call, while separate instances (each `get("...")`, each
  `clone()`) differ. To get fresh values from one instance on every call, pass a SeedGenerator.
"""
import numpy as np

from layerkit import random
from layerkit.initializers.initializer import Initializer, standardize_float_dtype, standardize_shape
from layerkit.ops.tensor import Tensor
from layerkit.random import SeedGenerator


def _deserialize_seed(owner, seed):
    # A serialized SeedGenerator: {"module": "keras.random", "class_name": "SeedGenerator", "config": {...}}.
    if seed.get("class_name") != "SeedGenerator":
        raise ValueError(f"{owner}: a dict `seed` must be a serialized SeedGenerator, received {seed!r}.")
    config = seed.get("config") or {}
    return SeedGenerator(seed=config.get("seed"), name=config.get("name"))


def serialize_seed(seed):
    """An int or None as is; a SeedGenerator as its Keras serialization dict."""
    if isinstance(seed, SeedGenerator):
        return {"module": "keras.random", "class_name": "SeedGenerator", "config": seed.get_config(),
                "registered_name": None}
    return seed


class RandomInitializer(Initializer):
    """Base class of the random initializers: checks and stores `seed`.

    Args:
        seed: an int, a `layerkit.random.SeedGenerator`, a serialized SeedGenerator dict, or None
            (an int seed is drawn once, here). See the module docstring for what each gives.
    """

    def __init__(self, seed=None):
        owner = type(self).__name__
        self._init_seed = seed
        if seed is None:
            seed = SeedGenerator().initial_seed  # drawn from the global generator
        elif isinstance(seed, dict):
            seed = _deserialize_seed(owner, seed)
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = int(seed)
            self._init_seed = seed
        elif not isinstance(seed, SeedGenerator):
            raise ValueError(f"{owner}: `seed` must be an int, a layerkit.random.SeedGenerator or None, "
                             f"received seed={seed!r} of type {type(seed).__name__}.")
        self.seed = seed

    def get_config(self):
        return {"seed": serialize_seed(self._init_seed)}


class RandomNormal(RandomInitializer):
    """Random normal initializer: samples from a normal distribution `N(mean, stddev**2)`.

    Example:

    >>> initializer = RandomNormal(mean=0.0, stddev=1.0, seed=1)
    >>> values = initializer(shape=(2, 2))

    Args:
        mean: mean of the values.
        stddev: standard deviation of the values.
        seed: an int, a `SeedGenerator` or None; an int (or None) gives the same values on every
            call, a SeedGenerator new values on every call.
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return random.normal(standardize_shape("RandomNormal", shape), mean=self.mean, stddev=self.stddev,
                             dtype=standardize_float_dtype("RandomNormal", dtype), seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Initializer that generates a truncated normal distribution.

    The values are like those of `RandomNormal`, except that values more than two standard
    deviations from the mean are discarded and redrawn.

    Example:

    >>> initializer = TruncatedNormal(mean=0.0, stddev=1.0, seed=1)
    >>> values = initializer(shape=(2, 2))

    Args:
        mean: mean of the values.
        stddev: standard deviation of the normal distribution before truncation.
        seed: an int, a `SeedGenerator` or None (see `RandomNormal`).
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return random.truncated_normal(standardize_shape("TruncatedNormal", shape), mean=self.mean,
                                       stddev=self.stddev, dtype=standardize_float_dtype("TruncatedNormal", dtype),
                                       seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Random uniform initializer: samples from the uniform distribution on `[minval, maxval)`.

    Example:

    >>> initializer = RandomUniform(minval=0.0, maxval=1.0, seed=1)
    >>> values = initializer(shape=(2, 2))

    Args:
        minval: lower bound of the range (inclusive).
        maxval: upper bound of the range (exclusive).
        seed: an int, a `SeedGenerator` or None (see `RandomNormal`).
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return random.uniform(standardize_shape("RandomUniform", shape), minval=self.minval, maxval=self.maxval,
                              dtype=standardize_float_dtype("RandomUniform", dtype), seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class Orthogonal(RandomInitializer):
    """Initializer that generates an orthogonal matrix.

    For a 2-D shape, the matrix is the Q factor of the QR decomposition of a matrix of normal
    random numbers (signs fixed so the distribution is uniform over orthogonal matrices). With
    fewer rows than columns the rows are orthonormal; otherwise the columns are.

    A shape of rank > 2 is treated as the matrix `(shape[0] * ... * shape[-2], shape[-1])` and
    reshaped back, so convolution kernels get orthonormal filters.

    Example:

    >>> initializer = Orthogonal(seed=1)
    >>> values = initializer(shape=(3, 3))

    Args:
        gain: multiplicative factor applied to the orthogonal matrix.
        seed: an int, a `SeedGenerator` or None (see `RandomNormal`).
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = standardize_shape("Orthogonal", shape)
        dtype = standardize_float_dtype("Orthogonal", dtype)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the tensor to initialize must be at least two-dimensional, "
                             f"received shape={shape} of rank {len(shape)}.")
        num_rows = int(np.prod(shape[:-1]))
        num_cols = shape[-1]
        flat_shape = (max(num_rows, num_cols), min(num_rows, num_cols))
        a = np.asarray(random.normal(flat_shape, seed=self.seed, dtype=dtype), dtype=np.float64)
        q, r = np.linalg.qr(a)  # QR in float64, whatever the output dtype
        d = np.sign(np.diag(r))
        q = q * np.where(d == 0, 1.0, d)
        if num_rows < num_cols:
            q = q.T
        return Tensor(np.ascontiguousarray(self.gain * q.reshape(shape)).astype(dtype))

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}
