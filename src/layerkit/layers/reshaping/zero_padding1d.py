"""ZeroPadding1D: zeros added at the start and end of the steps axis of a sequence."""
from layerkit import ops
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class ZeroPadding1D(Layer):
    """Zero-padding layer for 1D input (e.g. temporal sequence).

    Adds rows of zeros before and after the steps of a sequence, e.g. to keep the length
    through a "valid" convolution or to align sequences.

    Args:
        padding: an int (the same number of zeros at both ends) or a tuple of 2 ints
            (zeros at the start, zeros at the end), non-negative.
        data_format: "channels_last" (default: `(batch, steps, features)`) or
            "channels_first" (`(batch, features, steps)`).

    Call arguments:
        inputs: a tensor of rank 3.

    Input shape: (batch, steps, features). Output shape: (batch, padded_steps, features)
    (or the channels_first twins).

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.reshape(lk.ops.arange(6, dtype="float32"), (1, 3, 2))
    >>> y = lk.layers.ZeroPadding1D((1, 2))(x)
    >>> y.shape
    (1, 6, 2)
    >>> y.numpy()[0, :, 0]
    array([0., 0., 2., 4., 0., 0.], dtype=float32)
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = U.layer_label(self)
        self.padding = U.standardize_tuple(who, padding, 2, "padding", allow_zero=True)
        self.data_format = U.standardize_data_format(who, data_format)
        self.input_spec = InputSpec(ndim=3)
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        steps = (self.padding, (0, 0)) if self.data_format == "channels_last" else ((0, 0), self.padding)
        return ops.pad(inputs, ((0, 0),) + steps)

    def compute_output_shape(self, input_shape):
        U.check_rank(U.layer_label(self), input_shape, 1)
        shape = list(input_shape)
        axis = 1 if self.data_format == "channels_last" else 2
        if shape[axis] is not None:
            shape[axis] += sum(self.padding)
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
