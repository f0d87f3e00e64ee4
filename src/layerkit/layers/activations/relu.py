"""ReLU: the rectified linear unit, with Keras's optional cap, leak and threshold."""
import numbers

from layerkit import activations
from layerkit.layers.layer import Layer


class ReLU(Layer):
    """Rectified Linear Unit activation function layer.

    Computes, elementwise:

        f(x) = max_value                          if x >= max_value
        f(x) = x                                  if threshold <= x < max_value
        f(x) = negative_slope * (x - threshold)   otherwise

    With the defaults this is `max(x, 0)`; `ReLU(max_value=6.0)` is ReLU6.

    Args:
        max_value: the largest output (None: no cap), >= 0.
        negative_slope: the slope below the threshold, >= 0.
        threshold: the value below which the output is damped, >= 0.

    Call arguments:
        inputs: a tensor.

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.ReLU(max_value=1.0, negative_slope=0.5)
    >>> layer(lk.ops.convert_to_tensor([-2.0, 0.5, 3.0]))
    <Tensor shape=(3,), dtype=float32, numpy=
    [-1. ,  0.5,  1. ]>
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        who = f"ReLU '{self.name}'"
        def number(v):
            return isinstance(v, numbers.Real) and not isinstance(v, bool)

        if max_value is not None and not (number(max_value) and max_value >= 0.0):
            raise ValueError(f"{who}: `max_value` cannot be negative, received max_value={max_value!r}.")
        if not (number(negative_slope) and negative_slope >= 0.0):
            raise ValueError(f"{who}: `negative_slope` must be a number >= 0, received "
                             f"negative_slope={negative_slope!r}.")
        if not (number(threshold) and threshold >= 0.0):
            raise ValueError(f"{who}: `threshold` must be a number >= 0, received threshold={threshold!r}.")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config
