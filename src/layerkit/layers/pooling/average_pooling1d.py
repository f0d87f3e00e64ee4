"""AveragePooling1D: the mean of each window of steps."""
from layerkit.layers.pooling.base_pooling import BasePooling


class AveragePooling1D(BasePooling):
    """Average pooling for temporal (1-D) data: the mean of each window of steps.

    Downsamples a sequence by averaging each window of steps, per channel.

    Args:
        pool_size: an int or a tuple of 1 int, the window's size.
        strides: an int, a tuple of 1 int, or None (the default: `pool_size`).
        padding: "valid" (windows inside the input only) or "same" (output size
            ceil(input / strides), the input padded evenly, any odd extra cell at the end; a
            border window averages only the cells inside the input), case-insensitive.
        data_format: "channels_last" (default) or "channels_first".

    Call arguments:
        inputs: a tensor of rank 3.

    Input shape: (batch, steps, channels), or (batch, channels, steps) with channels_first.
    Output shape: the same with pooled spatial sizes, floor((n - pool_size) / strides) + 1
    ("valid") or ceil(n / strides) ("same").

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.AveragePooling1D(2)
    >>> layer(lk.ops.ones((2, 5, 3))).shape
    (2, 2, 3)
    """

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, pool_dimensions=1, pool_mode="average", padding=padding,
                         data_format=data_format, name=name, **kwargs)
