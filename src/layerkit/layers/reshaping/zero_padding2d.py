"""ZeroPadding2D: rows and columns of zeros around an image."""
from layerkit import ops
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class ZeroPadding2D(Layer):
    """Zero-padding layer for 2D input (e.g. picture).

    Adds rows of zeros at the top and bottom and columns of zeros at the left and right of an
    image, e.g. before a strided "valid" convolution (ResNet's stem) to control the output size.

    Args:
        padding: an int (the same on all four sides), a tuple of 2 ints
            (symmetric_height_pad, symmetric_width_pad), or a tuple of 2 tuples of 2 ints
            ((top_pad, bottom_pad), (left_pad, right_pad)), non-negative.
        data_format: "channels_last" (default) or "channels_first".

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, height, width, channels), or (batch, channels, height, width) with
    channels_first. Output shape: (batch, padded_height, padded_width, channels), or its
    channels_first twin.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.ZeroPadding2D(((1, 0), (2, 3)))(lk.ops.ones((2, 4, 5, 3))).shape
    (2, 5, 10, 3)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = U.layer_label(self)
        self.padding = U.standardize_pair_of_pairs(who, padding, "padding")
        self.data_format = U.standardize_data_format(who, data_format)
        self.input_spec = InputSpec(ndim=4)
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        if self.data_format == "channels_last":
            return ops.pad(inputs, ((0, 0),) + self.padding + ((0, 0),))
        return ops.pad(inputs, ((0, 0), (0, 0)) + self.padding)

    def compute_output_shape(self, input_shape):
        U.check_rank(U.layer_label(self), input_shape, 2)
        spatial, channels = U.split_channels(input_shape, self.data_format)
        out = tuple(None if n is None else n + sum(p) for n, p in zip(spatial, self.padding))
        return U.join_channels(input_shape[0], out, channels, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
