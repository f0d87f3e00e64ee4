"""GlobalMaxPooling2D: the largest value over the height and width of an image, per channel."""
from layerkit import ops
from layerkit.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Global max pooling operation for 2D data.

    Keeps each channel's strongest response over the whole image, wherever it occurs.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the spatial axes with size 1.

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, height, width, channels), or (batch, channels, height, width) with
    channels_first. Output shape: (batch, channels); with keepdims, (batch, 1, 1, channels) or
    (batch, channels, 1, 1).

    Example:
    >>> import layerkit as lk
    >>> lk.layers.GlobalMaxPooling2D()(lk.ops.ones((2, 4, 5, 3))).shape
    (2, 3)
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=2, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return ops.max(inputs, axis=self.spatial_axes, keepdims=self.keepdims)
