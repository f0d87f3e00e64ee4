"""GaussianDropout: multiplies inputs by 1-centered Gaussian noise while training."""
import math

from layerkit import ops, random
from layerkit.layers.layer import Layer, shape_only
from layerkit.layers.regularization.dropout import check_rate, check_seed


class GaussianDropout(Layer):
    """Applies multiplicative 1-centered Gaussian noise.

    A continuous relative of Dropout: during training each input is multiplied by noise from
    `N(1, rate / (1 - rate))`, which has the same mean and variance as dropout's keep-and-scale
    mask; at inference the layer is the identity.

    Args:
        rate: the drop probability it imitates, a float in [0, 1) (the noise's standard
            deviation is `sqrt(rate / (1 - rate))`).
        seed: an int seed for reproducible noise.

    Call arguments:
        inputs: a float tensor.
        training: whether to apply the noise (True) or pass the input through (False/None).

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.GaussianDropout(0.2, seed=0)
    >>> x = lk.ops.ones((2, 3))
    >>> bool(lk.ops.all(layer(x) == x)), bool(lk.ops.all(layer(x, training=True) == x))
    (True, False)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        # rate 1 would need infinite noise (Keras accepts it and fails in the first training call)
        check_rate(f"GaussianDropout '{self.name}'", rate, upper_inclusive=False)
        check_seed(f"GaussianDropout '{self.name}'", seed)
        self.rate = rate
        self.seed = seed
        if rate > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0 or shape_only(inputs):
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = random.normal(tuple(inputs.shape), mean=1.0, stddev=stddev, dtype=self.dtype,
                              seed=self.seed_generator)
        return ops.multiply(inputs, noise)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
