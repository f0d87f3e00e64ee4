"""Conv1DTranspose: 1-D transposed convolution, for upsampling sequences."""
from layerkit.layers.convolutional.base_conv_transpose import BaseConvTranspose


class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution layer.

    Goes the opposite way of a Conv1D: from a sequence shaped like a convolution's output to
    one shaped like its input, with the same connectivity — a learned upsampling of sequences
    (audio decoders, sequence autoencoders).

    Args:
        filters: the number of output channels.
        kernel_size: an int or a tuple of 1 int.
        strides: an int or a tuple of 1 int; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" or "same", case-insensitive.
        output_padding: None (inferred), or an int or a tuple of 1 int smaller than the stride.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a tuple of 1 int.
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (or names) of the weights.
        kernel_regularizer, bias_regularizer: regularizers of the weights, added to `losses`.
        activity_regularizer: regularizer of the output.
        kernel_constraint, bias_constraint: constraints applied after optimizer updates.

    Call arguments:
        inputs: a tensor of rank 3.

    Input shape: (batch, steps, channels), or (batch, channels, steps) with channels_first.
    Output shape: (batch, new_steps, filters), or (batch, filters, new_steps). The kernel has
    shape `(kernel_size, filters, channels)`.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.Conv1DTranspose(32, 3, 2, activation="relu")
    >>> layer(lk.ops.ones((4, 10, 128))).shape
    (4, 21, 32)
    >>> [w.shape for w in layer.weights]
    [(3, 32, 128), (32,)]
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            rank=1, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
            output_padding=output_padding, data_format=data_format, dilation_rate=dilation_rate,
            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)
