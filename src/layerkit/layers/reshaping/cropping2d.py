"""Cropping2D: rows and columns cut off the borders of an image."""
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class Cropping2D(Layer):
    """Cropping layer for 2D input (e.g. picture).

    Removes rows at the top and bottom and columns at the left and right of an image, e.g. to
    match the size of a skip connection in a U-Net before concatenating.

    Args:
        cropping: an int (the same on all four sides), a tuple of 2 ints
            (symmetric_height_crop, symmetric_width_crop), or a tuple of 2 tuples of 2 ints
            ((top_crop, bottom_crop), (left_crop, right_crop)), non-negative.
        data_format: "channels_last" (default) or "channels_first".

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, height, width, channels), or (batch, channels, height, width) with
    channels_first. Output shape: (batch, cropped_height, cropped_width, channels), or its
    channels_first twin; the cropping must leave at least one row and one column.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Cropping2D(((2, 2), (4, 4)))(lk.ops.ones((2, 28, 28, 3))).shape
    (2, 24, 20, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = U.layer_label(self)
        self.cropping = U.standardize_pair_of_pairs(who, cropping, "cropping")
        self.data_format = U.standardize_data_format(who, data_format)
        self.input_spec = InputSpec(ndim=4)
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))  # raises when nothing would be left
        (top, bottom), (left, right) = self.cropping
        rows = slice(top, -bottom if bottom else None)
        cols = slice(left, -right if right else None)
        if self.data_format == "channels_last":
            return inputs[:, rows, cols, :]
        return inputs[:, :, rows, cols]

    def compute_output_shape(self, input_shape):
        who = U.layer_label(self)
        U.check_rank(who, input_shape, 2)
        spatial, channels = U.split_channels(input_shape, self.data_format)
        if any(n is not None and n - sum(c) <= 0 for n, c in zip(spatial, self.cropping)):
            raise ValueError(f"{who}: `cropping` {self.cropping} must leave at least one row and one column, but "
                             f"received an input of shape {U.shape_str(input_shape)}.")
        out = tuple(None if n is None else n - sum(c) for n, c in zip(spatial, self.cropping))
        return U.join_channels(input_shape[0], out, channels, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config
