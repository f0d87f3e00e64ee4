"""ActivityRegularization: the identity, plus an L1/L2 penalty on its input added to `losses`."""
import numbers

from layerkit import regularizers
from layerkit.layers.layer import Layer


class ActivityRegularization(Layer):
    """Layer that applies an update to the cost function based on input activity.

    The output is the input; each call adds `l1 * sum(|x|) + l2 * sum(x**2)` to the layer's
    `losses` (via its `activity_regularizer`, an `L1L2`), which training adds to the loss. Use
    it to encourage sparse or small activations at one point of a model.

    Args:
        l1: the L1 factor, a number >= 0.
        l2: the L2 factor, a number >= 0.

    Call arguments:
        inputs: a tensor.

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.ActivityRegularization(l1=0.1)
    >>> _ = layer(lk.ops.convert_to_tensor([[1.0, -2.0]]))
    >>> len(layer.losses)
    1
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # it is l1/l2; a config from another layerkit may carry it
        for arg, value in (("l1", l1), ("l2", l2)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or value < 0:
                raise ValueError(f"ActivityRegularization: `{arg}` must be a number >= 0, received {arg}={value!r}.")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config
