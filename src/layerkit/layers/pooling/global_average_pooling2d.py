"""GlobalAveragePooling2D: the mean over the height and width of an image, per channel."""
from layerkit import ops
from layerkit.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Global average pooling operation for 2D data.

    Averages each channel over the whole image: the usual bridge from a convolutional stack to
    a classifier head (instead of Flatten), independent of the image size.

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
    >>> lk.layers.GlobalAveragePooling2D()(lk.ops.ones((2, 4, 5, 3))).shape
    (2, 3)
    >>> lk.layers.GlobalAveragePooling2D(keepdims=True)(lk.ops.ones((2, 4, 5, 3))).shape
    (2, 1, 1, 3)
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=2, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return ops.mean(inputs, axis=self.spatial_axes, keepdims=self.keepdims)
