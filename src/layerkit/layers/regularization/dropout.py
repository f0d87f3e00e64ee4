"""Dropout: randomly zeroes inputs while training, scaling the rest to keep the expected sum."""
import numbers

from layerkit import ops, random
from layerkit.layers.layer import Layer, shape_only


def check_rate(who, rate, upper_inclusive=True):
    """Raises a ValueError naming the layer unless `rate` is a number in [0, 1] (or [0, 1))."""
    ok = isinstance(rate, numbers.Real) and not isinstance(rate, bool) and 0 <= rate and (
        rate <= 1 if upper_inclusive else rate < 1)
    if not ok:
        bound = "1]" if upper_inclusive else "1)"
        raise ValueError(f"{who}: `rate` must be a float in [0, {bound}, received rate={rate!r}.")


def check_seed(who, seed):
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError(f"{who}: `seed` must be an int or None, received seed={seed!r}.")


class Dropout(Layer):
    """Applies dropout to the input.

    During training (`training=True`), each input unit is set to 0 with probability `rate`,
    and the others are scaled by `1 / (1 - rate)` so the expected sum is unchanged; at
    inference (`training` False or None, e.g. in `predict` and `evaluate`) the layer is the
    identity. Inside a model, the `training` flag of the model call reaches the layer.

    Args:
        rate: the fraction of units to drop, a float in [0, 1].
        noise_shape: the shape of the binary keep-mask, broadcast to the input: e.g.
            `(batch, 1, features)` drops the same features at every timestep. `None` entries
            take the input's size.
        seed: an int seed for reproducible masks (each call still draws a new mask, from a
            `SeedGenerator` stored as `seed_generator`).

    Call arguments:
        inputs: a tensor.
        training: whether to drop (True) or pass the input through (False/None).

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.Dropout(0.5, seed=1)
    >>> x = lk.ops.ones((2, 4))
    >>> bool(lk.ops.all(layer(x) == x))
    True
    >>> import numpy as np
    >>> sorted(set(np.asarray(layer(x, training=True)).ravel().tolist()))
    [0.0, 2.0]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        check_rate(who, rate)
        check_seed(who, seed)
        self.rate = rate
        self.seed = seed
        self.noise_shape = self._validate_noise_shape(who, noise_shape)
        if rate > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    @staticmethod
    def _validate_noise_shape(who, noise_shape):
        if noise_shape is None:
            return None
        if isinstance(noise_shape, str):
            raise ValueError(f"{who}: `noise_shape` must be a tuple of ints or None, received {noise_shape!r}.")
        try:
            noise_shape = tuple(noise_shape)
        except TypeError:
            raise ValueError(f"{who}: `noise_shape` must be a tuple of ints or None, received "
                             f"{noise_shape!r}.") from None
        for i, d in enumerate(noise_shape):
            if d is not None and (not isinstance(d, int) or isinstance(d, bool) or d <= 0):
                raise ValueError(f"{who}: `noise_shape` entries must be positive ints or None, received "
                                 f"{noise_shape!r} (entry {i} is {d!r}).")
        return noise_shape

    def call(self, inputs, training=False):
        if not training or self.rate == 0 or shape_only(inputs):
            return inputs
        if self.noise_shape is not None and len(self.noise_shape) != len(inputs.shape):
            raise ValueError(f"{type(self).__name__} '{self.name}': `noise_shape` {self.noise_shape} must have one "
                             f"entry per input axis, but received an input of shape {tuple(inputs.shape)}.")
        if self.rate >= 1:
            return ops.zeros_like(inputs)
        return random.dropout(inputs, self.rate, noise_shape=self.noise_shape, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config
