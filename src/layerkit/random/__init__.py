"""Random tensors with explicit, reproducible seeds.

Every function takes `seed`: an int (the same int gives the same values every time), a
`SeedGenerator` (each call draws a new seed from it, so repeated calls differ but a whole program
is reproducible), or None (a seed drawn from the global generator, which
`layerkit.utils.set_random_seed` resets). Values come from NumPy's Philox counter-based
generator, one stream per seed.
"""
import numpy as np

from layerkit.backend import floatx, standardize_dtype
from layerkit.ops import core as C
from layerkit.ops import elementwise as E
from layerkit.ops.tensor import Tensor


class SeedGenerator:
    """A stateful source of seeds: each `next()` returns a new one, deterministically from `seed`."""

    def __init__(self, seed=None, name=None):
        self.name = name
        self.initial_seed = int(seed) if seed is not None else int(_global_rng().integers(0, 2**31 - 1))
        self._counter = 0

    def next(self):
        s = np.random.SeedSequence([self.initial_seed, self._counter]).generate_state(1)[0]
        self._counter += 1
        return int(s)

    def get_config(self):
        return {"seed": self.initial_seed, "name": self.name}


_GLOBAL = [np.random.default_rng()]


def _global_rng():
    return _GLOBAL[0]


def _set_global_seed(seed):
    _GLOBAL[0] = np.random.default_rng(seed)


def _rng(seed):
    if isinstance(seed, SeedGenerator):
        seed = seed.next()
    elif seed is None:
        seed = int(_global_rng().integers(0, 2**63 - 1))
    elif not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, a SeedGenerator or None, received {type(seed).__name__}.")
    return np.random.Generator(np.random.Philox(int(seed)))


def _float_dtype(dtype, fn):
    dtype = standardize_dtype(dtype or floatx())
    if dtype not in ("float32", "float64"):
        raise ValueError(f"random.{fn}: `dtype` must be a float dtype, received {dtype!r}.")
    return dtype


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    dtype = _float_dtype(dtype, "normal")
    return Tensor(_rng(seed).normal(mean, stddev, _shape(shape)).astype(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    dtype = _float_dtype(dtype, "uniform")
    return Tensor(_rng(seed).uniform(minval, maxval, _shape(shape)).astype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal values, redrawn until they lie within two standard deviations of the mean."""
    dtype = _float_dtype(dtype, "truncated_normal")
    rng = _rng(seed)
    shape = _shape(shape)
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return Tensor((out * stddev + mean).astype(dtype))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    dtype = standardize_dtype(dtype)
    return Tensor(_rng(seed).integers(minval, maxval, _shape(shape)).astype(dtype))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Samples class indices from each row of `logits` (batch, classes)."""
    logits = np.asarray(C.convert_to_tensor(logits), dtype=np.float64)
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    rng = _rng(seed)
    out = np.stack([rng.choice(p.shape[-1], size=num_samples, p=row) for row in p])
    return Tensor(out.astype(standardize_dtype(dtype)))


def shuffle(x, axis=0, seed=None):
    """`x` with its slices along `axis` permuted."""
    x = C.convert_to_tensor(x)
    perm = _rng(seed).permutation(x.shape[axis]).astype("int64")
    from layerkit.ops.layout import take
    return take(x, Tensor(perm), axis=axis)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes each element with probability `rate` and scales the rest by 1 / (1 - rate)."""
    if not 0 <= rate < 1:
        raise ValueError(f"random.dropout: `rate` must be in [0, 1), received {rate}.")
    x = C.to_float(inputs)
    if rate == 0:
        return x
    shape = x.shape if noise_shape is None else tuple(d if d is not None else s for d, s in zip(noise_shape, x.shape))
    keep = Tensor(((_rng(seed).random(shape) >= rate) / (1 - rate)).astype(x.dtype))
    return E.multiply(x, keep)
