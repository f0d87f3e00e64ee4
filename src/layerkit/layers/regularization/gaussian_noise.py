"""GaussianNoise: adds zero-mean Gaussian noise while training."""
import numbers

from layerkit import ops, random
from layerkit.layers.layer import Layer, shape_only
from layerkit.layers.regularization.dropout import check_seed


class GaussianNoise(Layer):
    """Applies additive zero-centered Gaussian noise.

    A regularizer (and a simple form of data augmentation for real-valued inputs): during
    training each input gets `N(0, stddev**2)` noise added; at inference the layer is the
    identity.

    Args:
        stddev: the standard deviation of the noise, a float in [0, 1] (Keras's bound).
        seed: an int seed for reproducible noise.

    Call arguments:
        inputs: a float tensor.
        training: whether to add noise (True) or pass the input through (False/None).

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.GaussianNoise(0.1, seed=0)
    >>> x = lk.ops.ones((2, 3))
    >>> bool(lk.ops.all(layer(x) == x)), bool(lk.ops.all(layer(x, training=True) == x))
    (True, False)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(stddev, numbers.Real) or isinstance(stddev, bool) or not 0 <= stddev <= 1:
            raise ValueError(f"GaussianNoise '{self.name}': `stddev` must be a float in [0, 1], received "
                             f"stddev={stddev!r}.")
        check_seed(f"GaussianNoise '{self.name}'", seed)
        self.stddev = stddev
        self.seed = seed
        if stddev > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.stddev == 0 or shape_only(inputs):
            return inputs
        noise = random.normal(tuple(inputs.shape), mean=0.0, stddev=self.stddev, dtype=self.dtype,
                              seed=self.seed_generator)
        return ops.add(inputs, noise)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config
