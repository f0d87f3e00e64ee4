"""Random tensors with explicit, reproducible seeds — the same in eager and in compiled code.

Every function takes `seed`:
- an int: the same values every time;
- a `SeedGenerator`: new values on every call, reproducibly; its state is a Variable, so a
  compiled function (`lk.function`) draws new values on every run too, instead of baking one
  sample into the graph;
- None: the global SeedGenerator, which `layerkit.utils.set_random_seed` resets.

Every draw is one primitive (`random`) whose value depends only on (key, counter): NumPy's
Philox generator seeded from both. The eager call and the compiled graph run that same primitive.
"""
import numpy as np

from layerkit.autodiff.variable import Variable
from layerkit.backend import floatx, standardize_dtype
from layerkit.ops import core as C
from layerkit.ops import elementwise as E
from layerkit.ops.primitive import TRACE, apply, register
from layerkit.ops.tensor import Tensor


class SeedGenerator:
    """A stateful source of randomness: `seed` fixes the sequence, each draw advances it.

    Its `state` is a non-trainable int64 Variable (the number of draws so far).
    """

    def __init__(self, seed=None, name=None):
        self.name = name
        self.initial_seed = int(seed) if seed is not None else int(_GLOBAL_RNG[0].integers(0, 2**31 - 1))
        previous, TRACE.tracer = TRACE.tracer, None  # the state exists eagerly, even when made while tracing
        try:
            self.state = Variable(np.zeros((), "int64"), trainable=False, name=f"{name or 'seed_generator'}_state")
        finally:
            TRACE.tracer = previous

    def next(self):
        """An int seed for one draw (eager), advancing the state."""
        s = int(np.random.SeedSequence([self.initial_seed, int(np.asarray(self.state))]).generate_state(1)[0])
        self.state.assign_add(np.int64(1))
        return s

    def get_config(self):
        return {"seed": self.initial_seed, "name": self.name}


_GLOBAL_RNG = [np.random.default_rng()]
_GLOBAL_GEN = []


def _set_global_seed(seed):
    _GLOBAL_RNG[0] = np.random.default_rng(seed)
    _GLOBAL_GEN[:] = [SeedGenerator(int(_GLOBAL_RNG[0].integers(0, 2**31 - 1)), name="global_seed_generator")]


def _global_generator():
    if not _GLOBAL_GEN:
        _GLOBAL_GEN.append(SeedGenerator(name="global_seed_generator"))
    return _GLOBAL_GEN[0]


def _sample(counter, key, dist, shape, dtype, a, b):
    rng = np.random.Generator(np.random.Philox(np.random.SeedSequence([key, int(counter)])))
    if dist == "uniform":
        out = rng.uniform(a, b, shape)
    elif dist == "normal":
        out = rng.normal(a, b, shape)
    elif dist == "truncated_normal":  # redrawn until within two standard deviations
        out = rng.standard_normal(shape)
        bad = np.abs(out) > 2
        while bad.any():
            out[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(out) > 2
        out = out * b + a
    elif dist == "randint":
        out = rng.integers(a, b, shape)
    else:  # "permutation"
        out = rng.permutation(shape[0])
    return np.array(out, dtype=dtype)  # (a 0-d draw stays 0-d)


def sampled_shape(shape, like):
    """`shape` with its unknown sizes (None) taken from the optional tensor `like` (a draw shaped
    like a tensor whose batch is known only when the traced function runs)."""
    return tuple(d if d is not None else like[0].shape[i] for i, d in enumerate(shape)) if like else tuple(shape)


RANDOM = register(
    "random",
    forward=lambda counter, *like, key, dist, shape, dtype, a, b: _sample(counter, key, dist,
                                                                        sampled_shape(shape, like), dtype, a, b),
    infer=lambda counter, *like, key, dist, shape, dtype, a, b: (shape, dtype), grad=None)


def _draw(seed, dist, shape, dtype, a=0.0, b=1.0, like=None):
    """One draw of `dist` by the `random` primitive; advances a SeedGenerator's state. Unknown
    sizes in `shape` (None) are those of tensor `like`."""
    if seed is None:
        seed = _global_generator()
    likes = () if like is None else (like,)
    if isinstance(seed, SeedGenerator):
        out = apply(RANDOM, seed.state, *likes, key=seed.initial_seed, dist=dist, shape=shape, dtype=dtype, a=a, b=b)
        seed.state.assign_add(np.int64(1))
        return out
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"random: `seed` must be an int, a SeedGenerator or None, received {type(seed).__name__}.")
    counter = Tensor(np.zeros((), "int64"))
    return apply(RANDOM, counter, *likes, key=int(seed), dist=dist, shape=shape, dtype=dtype, a=a, b=b)


def _float_dtype(dtype, fn):
    dtype = standardize_dtype(dtype or floatx())
    if dtype not in ("float32", "float64"):
        raise ValueError(f"random.{fn}: `dtype` must be a float dtype, received {dtype!r}.")
    return dtype


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _draw(seed, "normal", _shape(shape), _float_dtype(dtype, "normal"), float(mean), float(stddev))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _draw(seed, "uniform", _shape(shape), _float_dtype(dtype, "uniform"), float(minval), float(maxval))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal values, redrawn until they lie within two standard deviations of the mean."""
    return _draw(seed, "truncated_normal", _shape(shape), _float_dtype(dtype, "truncated_normal"), float(mean),
                 float(stddev))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    dtype = standardize_dtype(dtype)
    if dtype not in ("int32", "int64"):
        raise ValueError(f"random.randint: `dtype` must be an int dtype, received {dtype!r}.")
    return _draw(seed, "randint", _shape(shape), dtype, int(minval), int(maxval))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Samples class indices from each row of `logits` (batch, classes) (eager only)."""
    logits = np.asarray(C.convert_to_tensor(logits), dtype=np.float64)
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    u = np.asarray(uniform((p.shape[0], num_samples), dtype="float64", seed=seed))
    out = (u[:, :, None] > np.cumsum(p, axis=-1)[:, None, :-1]).sum(axis=-1)
    return Tensor(out.astype(standardize_dtype(dtype)))


def shuffle(x, axis=0, seed=None):
    """`x` with its slices along `axis` permuted."""
    x = C.convert_to_tensor(x)
    from layerkit.ops.layout import take

    perm = _draw(seed, "permutation", (x.shape[axis],), "int64")
    return take(x, perm, axis=axis)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes each element with probability `rate` and scales the rest by 1 / (1 - rate)."""
    if not 0 <= rate < 1:
        raise ValueError(f"random.dropout: `rate` must be in [0, 1), received {rate}.")
    x = C.to_float(inputs)
    if rate == 0:
        return x
    shape = tuple(x.shape) if noise_shape is None else tuple(
        d if d is not None else s for d, s in zip(noise_shape, x.shape))
    # sizes known only when a traced function runs (an unknown batch) are x's at that time
    noise = _draw(seed, "uniform", shape, x.dtype, 0.0, 1.0, like=x if None in shape else None)
    keep = E.greater_equal(noise, rate)
    return E.where(keep, E.multiply(x, 1.0 / (1.0 - rate)), 0.0)
