"""BasePooling: what the max and average pooling layers share (arguments, shapes, config)."""
from layerkit import ops
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class BasePooling(Layer):
    """Abstract N-D pooling layer (N = `pool_dimensions`, 1 or 2): max or average over windows.

    Args:
        pool_size: an int or a tuple of N ints, the window's size.
        strides: an int, a tuple of N ints, or None (the default: `pool_size`).
        pool_dimensions: the number of spatial axes.
        pool_mode: "max" or "average".
        padding: "valid" (windows inside the input only) or "same" (output size
            ceil(input / strides); average windows count only the cells inside the input).
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, pool_size, strides, pool_dimensions, pool_mode="max", padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        who = U.layer_label(self)
        self.pool_dimensions = pool_dimensions
        self.pool_size = U.standardize_tuple(who, pool_size, pool_dimensions, "pool_size")
        self.strides = self.pool_size if strides is None else U.standardize_tuple(who, strides, pool_dimensions,
                                                                                  "strides")
        if pool_mode not in ("max", "average"):
            raise ValueError(f"{who}: `pool_mode` must be 'max' or 'average', received pool_mode={pool_mode!r}.")
        self.pool_mode = pool_mode
        self.padding = U.standardize_padding(who, padding)
        self.data_format = U.standardize_data_format(who, data_format)
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))  # names the layer when the window does not fit
        pool = ops.max_pool if self.pool_mode == "max" else ops.average_pool
        return pool(inputs, pool_size=self.pool_size, strides=self.strides, padding=self.padding,
                    data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        who = U.layer_label(self)
        U.check_rank(who, input_shape, self.pool_dimensions)
        spatial, channels = U.split_channels(input_shape, self.data_format)
        out = tuple(U.conv_output_length(n, p, s, self.padding) for n, p, s in zip(spatial, self.pool_size,
                                                                                   self.strides))
        shape = U.join_channels(input_shape[0], out, channels, self.data_format)
        U.check_output_positive(who, input_shape, shape, f"pool_size={self.pool_size}, strides={self.strides}, "
                                f"padding={self.padding!r}")
        return shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        })
        return config
