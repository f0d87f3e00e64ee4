"""`VarianceScaling` and its named forms (Glorot, He and LeCun, uniform and normal), and
`compute_fans`, which they scale by."""
import math

from layerkit import random
from layerkit.initializers.initializer import standardize_float_dtype, standardize_shape
from layerkit.initializers.random_initializers import RandomInitializer, serialize_seed

# The standard deviation of a standard normal truncated to [-2, 2]: dividing by it makes the
# truncated distribution's standard deviation the one asked for.
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape, input_axes=None, output_axes=None):
    """The number of input and output units of a weight of shape `shape`, as Keras computes them.

    - rank 0: `(1, 1)`; rank 1: `(shape[0], shape[0])`; rank 2 (a dense kernel
      `(input_dim, units)`): `(shape[0], shape[1])`;
    - rank >= 3, a convolution kernel `(*spatial, in_channels, out_channels)`: the receptive
      field size `prod(spatial)` times `in_channels` and times `out_channels`.

    Args:
        shape: the weight's shape, a tuple of ints.
        input_axes: optional list of the axes whose product is the fan-in (with `output_axes`).
        output_axes: optional list of the axes whose product is the fan-out (with `input_axes`).

    Returns:
        `(fan_in, fan_out)`, two ints.

    Example:

    >>> compute_fans((3, 3, 16, 32))
    (144, 288)
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        fan_in = math.prod(shape[a] for a in input_axes)
        fan_out = math.prod(shape[a] for a in output_axes)
        return int(fan_in), int(fan_out)
    if len(shape) < 1:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive_field_size = math.prod(shape[:-2])
        fan_in = shape[-2] * receptive_field_size
        fan_out = shape[-1] * receptive_field_size
    return int(fan_in), int(fan_out)


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(RandomInitializer):
    """Initializer that adapts its scale to the shape of the tensor it initializes.

    With `distribution="truncated_normal"` or `"untruncated_normal"`, samples are drawn from a
    (truncated) normal distribution with mean 0 and standard deviation (after truncation)
    `sqrt(scale / n)`, where `n` is:

    - the number of input units, if `mode="fan_in"`;
    - the number of output units, if `mode="fan_out"`;
    - the average of the two, if `mode="fan_avg"`

    (see `compute_fans`). With `distribution="uniform"`, samples are drawn from the uniform
    distribution on `[-limit, limit]`, `limit = sqrt(3 * scale / n)`.

    Example:

    >>> initializer = VarianceScaling(scale=0.1, mode="fan_in", distribution="uniform", seed=1)
    >>> values = initializer(shape=(2, 2))

    Args:
        scale: scaling factor, a positive float.
        mode: one of `"fan_in"`, `"fan_out"`, `"fan_avg"`.
        distribution: one of `"truncated_normal"`, `"untruncated_normal"`, `"uniform"`
            (`"normal"` is taken as `"truncated_normal"`, as in Keras).
        seed: an int, a `SeedGenerator` or None: an int (or None) gives the same values on every
            call, a SeedGenerator new values on every call.
        input_axes: optional list of the axes that count as input units (with `output_axes`).
        output_axes: optional list of the axes that count as output units (with `input_axes`).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        owner = type(self).__name__
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0.0:
            raise ValueError(f"{owner}: argument `scale` must be a positive float, received scale={scale!r}.")
        if mode not in _MODES:
            raise ValueError(f"{owner}: argument `mode` must be one of {', '.join(map(repr, _MODES))}, "
                             f"received mode={mode!r}.")
        dist = distribution.lower() if isinstance(distribution, str) else distribution
        if dist == "normal":
            dist = "truncated_normal"
        if dist not in _DISTRIBUTIONS:
            raise ValueError(f"{owner}: argument `distribution` must be one of "
                             f"{', '.join(map(repr, _DISTRIBUTIONS))}, received distribution={distribution!r}.")
        self.scale = scale
        self.mode = mode
        self.distribution = dist
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        owner = type(self).__name__
        shape = standardize_shape(owner, shape)
        dtype = standardize_float_dtype(owner, dtype)
        fan_in, fan_out = compute_fans(shape, input_axes=self.input_axes, output_axes=self.output_axes)
        if self.mode == "fan_in":
            scale = self.scale / max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale = self.scale / max(1.0, fan_out)
        else:
            scale = self.scale / max(1.0, (fan_in + fan_out) / 2.0)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / _TRUNCATED_STDDEV
            return random.truncated_normal(shape, mean=0.0, stddev=stddev, dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random.normal(shape, mean=0.0, stddev=math.sqrt(scale), dtype=dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random.uniform(shape, minval=-limit, maxval=limit, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class _NamedVarianceScaling(VarianceScaling):
    """A VarianceScaling with a fixed scale, mode and distribution: only the seed (and the
    optional fan axes) are arguments, and the config."""

    _SCALE, _MODE, _DISTRIBUTION = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(scale=self._SCALE, mode=self._MODE, distribution=self._DISTRIBUTION, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": serialize_seed(self._init_seed), "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(_NamedVarianceScaling):
    """The Glorot uniform initializer, also called Xavier uniform initializer.

    Draws samples from the uniform distribution on `[-limit, limit]`,
    `limit = sqrt(6 / (fan_in + fan_out))`.

    Example:

    >>> values = GlorotUniform(seed=1)(shape=(2, 2))

    Args:
        seed: an int, a `SeedGenerator` or None (see `VarianceScaling`).
        input_axes: optional axes that count as input units (see `compute_fans`).
        output_axes: optional axes that count as output units.

    Reference: [Glorot et al., 2010](http://proceedings.mlr.press/v9/glorot10a.html)
    """

    _SCALE, _MODE, _DISTRIBUTION = 1.0, "fan_avg", "uniform"


class GlorotNormal(_NamedVarianceScaling):
    """The Glorot normal initializer, also called Xavier normal initializer.

    Draws samples from a truncated normal distribution centered on 0 with
    `stddev = sqrt(2 / (fan_in + fan_out))`.

    Args:
        seed: an int, a `SeedGenerator` or None (see `VarianceScaling`).
        input_axes: optional axes that count as input units (see `compute_fans`).
        output_axes: optional axes that count as output units.
    """

    _SCALE, _MODE, _DISTRIBUTION = 1.0, "fan_avg", "truncated_normal"


class LecunNormal(_NamedVarianceScaling):
    """LeCun normal initializer: a truncated normal distribution with `stddev = sqrt(1 / fan_in)`.

    Args:
        seed: an int, a `SeedGenerator` or None (see `VarianceScaling`).
        input_axes: optional axes that count as input units (see `compute_fans`).
        output_axes: optional axes that count as output units.

    Reference: [Klambauer et al., 2017](https://arxiv.org/abs/1706.02515)
    """

    _SCALE, _MODE, _DISTRIBUTION = 1.0, "fan_in", "truncated_normal"


class LecunUniform(_NamedVarianceScaling):
    """LeCun uniform initializer: the uniform distribution on `[-limit, limit]`,
    `limit = sqrt(3 / fan_in)`.

    Args:
        seed: an int, a `SeedGenerator` or None (see `VarianceScaling`).
        input_axes: optional axes that count as input units (see `compute_fans`).
        output_axes: optional axes that count as output units.
    """

    _SCALE, _MODE, _DISTRIBUTION = 1.0, "fan_in", "uniform"


class HeNormal(_NamedVarianceScaling):
    """He normal initializer: a truncated normal distribution with `stddev = sqrt(2 / fan_in)`.

    Args:
        seed: an int, a `SeedGenerator` or None (see `VarianceScaling`).
        input_axes: optional axes that count as input units (see `compute_fans`).
        output_axes: optional axes that count as output units.

    Reference: [He et al., 2015](https://arxiv.org/abs/1502.01852)
    """

    _SCALE, _MODE, _DISTRIBUTION = 2.0, "fan_in", "truncated_normal"


class HeUniform(_NamedVarianceScaling):
    """He uniform initializer: the uniform distribution on `[-limit, limit]`,
    `limit = sqrt(6 / fan_in)`.

    Args:
        seed: an int, a `SeedGenerator` or None (see `VarianceScaling`).
        input_axes: optional axes that count as input units (see `compute_fans`).
        output_axes: optional axes that count as output units.
    """

    _SCALE, _MODE, _DISTRIBUTION = 2.0, "fan_in", "uniform"
