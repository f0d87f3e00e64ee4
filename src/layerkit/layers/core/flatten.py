"""Flatten: collapses every axis but the batch axis into one."""
import math

from layerkit import ops
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer
from layerkit.ops import SymbolicTensor
from layerkit.ops.primitive import is_tracing

_DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(who, data_format):
    """`data_format` checked and defaulted (None: "channels_last", layerkit's image data format)."""
    if data_format is None:
        return "channels_last"
    value = str(data_format).lower()
    if value not in _DATA_FORMATS:
        raise ValueError(f"{who}: `data_format` must be 'channels_last' or 'channels_first', received "
                         f"{data_format!r}.")
    return value


class Flatten(Layer):
    """Flattens the input; the batch axis is kept.

    Use it between convolutional/pooling layers and Dense layers. With
    `data_format="channels_first"`, a (batch, channels, ...) input is first moved to
    (batch, ..., channels), so the flattened order matches a channels-last model (as Keras does).
    An input of shape (batch,) becomes (batch, 1).

    Args:
        data_format: "channels_last" (default) or "channels_first", the order of the input's
            axes; it only changes the order of the flattened features.

    Call arguments:
        inputs: a tensor of rank >= 1.

    Input shape: (batch, ...). Output shape: (batch, product of the other axes).

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Flatten()(lk.ops.ones((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(f"Flatten '{self.name}'", data_format)
        self.input_spec = InputSpec(min_ndim=1)
        self._channels_first = self.data_format == "channels_first"

    def call(self, inputs):
        rank = len(inputs.shape)
        if self._channels_first and rank > 2:
            inputs = ops.transpose(inputs, (0, *range(2, rank), 1))
        batch, flat = self.compute_output_shape(inputs.shape)
        if flat is not None:
            return ops.reshape(inputs, (-1 if batch is None else batch, flat))
        if batch is not None:
            return ops.reshape(inputs, (batch, -1))
        if is_tracing():
            raise ValueError(f"Flatten '{self.name}' cannot flatten an input of shape {tuple(inputs.shape)} inside a "
                             "traced function: with both the batch size and the flattened size unknown, the reshape "
                             "has two unknown sizes. Trace with known non-batch sizes (only the batch axis None).")
        # a Functional model's shape inference: the shape is all the caller needs
        return SymbolicTensor((None, None), inputs.dtype)

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        if not rest:
            flat = 1
        elif any(d is None for d in rest):
            flat = None
        else:
            flat = math.prod(rest)
        return (input_shape[0], flat)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
