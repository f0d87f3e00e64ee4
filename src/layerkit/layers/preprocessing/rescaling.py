"""Rescaling: `inputs * scale + offset`, e.g. pixels from [0, 255] to [0, 1]."""
import numbers

import numpy as np

from layerkit import ops
from layerkit.layers.layer import Layer


def _check_number_or_list(who, arg, value):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    flat = value if isinstance(value, (list, tuple)) else [value]
    if not flat or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in np.ravel(flat)):
        raise ValueError(f"Rescaling '{who}': `{arg}` must be a number or a list of numbers (one per channel), "
                         f"received {arg}={value!r}.")
    return value


class Rescaling(Layer):
    """A preprocessing layer which rescales input values to a new range: `inputs * scale + offset`.

    Use it as the first layer of an image model, e.g. `Rescaling(1 / 255)` maps [0, 255] to
    [0, 1] and `Rescaling(1 / 127.5, offset=-1)` maps it to [-1, 1]. Integer inputs are cast to
    the layer's dtype first. `scale` and `offset` may be lists, one value per channel (the last
    axis).

    Args:
        scale: the factor, a number or a list of numbers.
        offset: the value added after scaling, a number or a list of numbers.

    Call arguments:
        inputs: a tensor (any numeric dtype).

    Input shape: any. Output shape: the same, of the layer's dtype.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Rescaling(1 / 127.5, offset=-1.0)(lk.ops.convert_to_tensor([[0, 255]]))
    <Tensor shape=(1, 2), dtype=float32, numpy=
    [[-1.,  1.]]>
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _check_number_or_list(self.name, "scale", scale)
        self.offset = _check_number_or_list(self.name, "offset", offset)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        dtype = self.dtype
        scale = ops.convert_to_tensor(np.asarray(self.scale, dtype=dtype))
        offset = ops.convert_to_tensor(np.asarray(self.offset, dtype=dtype))
        return ops.add(ops.multiply(ops.cast(inputs, dtype), scale), offset)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config
