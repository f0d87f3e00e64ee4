"""LeakyReLU: `x` for positive inputs, `negative_slope * x` otherwise."""
import numbers
import warnings

from layerkit import activations
from layerkit.layers.layer import Layer


class LeakyReLU(Layer):
    """Leaky version of a Rectified Linear Unit activation layer.

    `f(x) = x` for `x >= 0` and `negative_slope * x` for `x < 0`: negative inputs keep a small
    gradient, unlike ReLU.

    Args:
        negative_slope: the slope for negative inputs, a number >= 0 (default 0.3, as in
            Keras; `alpha=` is accepted as its deprecated name).

    Call arguments:
        inputs: a tensor.

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.LeakyReLU(negative_slope=0.5)(lk.ops.convert_to_tensor([-2.0, 1.0]))
    <Tensor shape=(2,), dtype=float32, numpy=
    [-1.,  1.]>
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated. Use `negative_slope` instead.")
        super().__init__(**kwargs)
        if not isinstance(negative_slope, numbers.Real) or isinstance(negative_slope, bool) or not negative_slope >= 0:
            raise ValueError(f"LeakyReLU '{self.name}': `negative_slope` must be a number >= 0, received "
                             f"negative_slope={negative_slope!r}.")
        self.negative_slope = negative_slope
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config
