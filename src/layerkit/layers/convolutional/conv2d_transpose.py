"""Conv2DTranspose: 2-D transposed convolution ("deconvolution"), for upsampling feature maps."""
from layerkit.layers.convolutional.base_conv_transpose import BaseConvTranspose


class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution layer.

    Goes the opposite way of a Conv2D: from a tensor shaped like a convolution's output to one
    shaped like its input, with the same connectivity — a learned upsampling, used in decoders,
    generators and segmentation heads. With `padding="same"` and no `output_padding`, the
    output is `strides` times larger than the input.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a tuple of 2 ints.
        strides: an int or a tuple of 2 ints; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" or "same", case-insensitive.
        output_padding: None (the output size is inferred), or an int or a tuple of 2 ints,
            each smaller than the matching stride: the output size along an axis is then
            `(input - 1) * stride + kernel_size % 2 + output_padding` ("same") or
            `(input - 1) * stride + kernel_size + output_padding` ("valid").
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a tuple of 2 ints.
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (or names) of the weights.
        kernel_regularizer, bias_regularizer: regularizers of the weights, added to `losses`.
        activity_regularizer: regularizer of the output.
        kernel_constraint, bias_constraint: constraints applied after optimizer updates.

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, height, width, channels), or (batch, channels, height, width) with
    channels_first. Output shape: (batch, new_height, new_width, filters), or
    (batch, filters, new_height, new_width). The kernel has shape
    `kernel_size + (filters, channels)` — filters before channels, unlike Conv2D.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.Conv2DTranspose(32, 2, 2, activation="relu")
    >>> layer(lk.ops.ones((4, 10, 8, 128))).shape
    (4, 20, 16, 32)
    >>> [w.shape for w in layer.weights]
    [(2, 2, 32, 128), (32,)]
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            rank=2, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
            output_padding=output_padding, data_format=data_format, dilation_rate=dilation_rate,
            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)
