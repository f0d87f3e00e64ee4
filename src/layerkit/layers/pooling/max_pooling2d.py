"""MaxPooling2D: the largest value of each window of an image."""
from layerkit.layers.pooling.base_pooling import BasePooling


class MaxPooling2D(BasePooling):
    """Max pooling for 2-D spatial data: the largest value of each window.

    Downsamples images by keeping the strongest response of each window, per channel; the
    usual companion of Conv2D.

    Args:
        pool_size: an int or a tuple of 2 ints, the window's size.
        strides: an int, a tuple of 2 ints, or None (the default: `pool_size`).
        padding: "valid" (windows inside the input only) or "same" (output size
            ceil(input / strides), the input padded evenly, any odd extra cell at the end),
            case-insensitive.
        data_format: "channels_last" (default) or "channels_first".

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, height, width, channels), or (batch, channels, height, width) with
    channels_first. Output shape: the same with pooled spatial sizes, floor((n - pool_size) /
    strides) + 1 ("valid") or ceil(n / strides) ("same").

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.MaxPooling2D()
    >>> layer(lk.ops.ones((2, 5, 6, 3))).shape
    (2, 2, 3, 3)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, pool_dimensions=2, pool_mode="max", padding=padding,
                         data_format=data_format, name=name, **kwargs)
