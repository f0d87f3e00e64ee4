"""BaseGlobalPooling: what the global max/average pooling layers share (arguments, shapes, config)."""
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class BaseGlobalPooling(Layer):
    """Abstract global pooling layer: reduces every spatial axis of an N-D input (N =
    `pool_dimensions`), keeping the batch and channel axes.

    Args:
        pool_dimensions: the number of spatial axes, 1 or 2.
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the reduced axes with size 1 (`(batch, 1, 1, channels)`) instead of
            dropping them (`(batch, channels)`).
    """

    def __init__(self, pool_dimensions, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        who = U.layer_label(self)
        self.pool_dimensions = pool_dimensions
        self.data_format = U.standardize_data_format(who, data_format)
        if not isinstance(keepdims, bool):
            raise ValueError(f"{who}: `keepdims` must be a bool, received keepdims={keepdims!r}.")
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)
        self.built = True  # no weights: built from the start, as in Keras

    @property
    def spatial_axes(self):
        """The reduced axes: 1..N (channels_last) or 2..N+1 (channels_first)."""
        start = 1 if self.data_format == "channels_last" else 2
        return tuple(range(start, start + self.pool_dimensions))

    def call(self, inputs):
        raise NotImplementedError(f"{type(self).__name__} must define call(): the reduction it pools with.")

    def compute_output_shape(self, input_shape):
        U.check_rank(U.layer_label(self), input_shape, self.pool_dimensions)
        _, channels = U.split_channels(input_shape, self.data_format)
        if not self.keepdims:
            return (input_shape[0], channels)
        return U.join_channels(input_shape[0], (1,) * self.pool_dimensions, channels, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config
