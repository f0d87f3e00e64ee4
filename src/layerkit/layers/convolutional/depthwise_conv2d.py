"""DepthwiseConv2D: per-channel 2-D convolution (no mixing across channels)."""
from layerkit.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv


class DepthwiseConv2D(BaseDepthwiseConv):
    """2D depthwise convolution layer.

    Convolves each input channel with its own `depth_multiplier` filters and concatenates the
    results; channels are never mixed. Cheap spatial filtering: followed by a 1x1 Conv2D it
    makes the separable convolution of MobileNet and Xception (see SeparableConv2D).

    Args:
        kernel_size: an int or a tuple of 2 ints.
        strides: an int or a tuple of 2 ints; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" or "same", case-insensitive.
        depth_multiplier: the number of filters per input channel.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a tuple of 2 ints.
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        depthwise_initializer, bias_initializer: initializers (or names) of the weights.
        depthwise_regularizer, bias_regularizer: regularizers of the weights.
        activity_regularizer: regularizer of the output.
        depthwise_constraint, bias_constraint: constraints applied after optimizer updates.

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, height, width, channels), or (batch, channels, height, width) with
    channels_first. Output shape: (batch, new_height, new_width, channels * depth_multiplier),
    or its channels_first twin. Weights: "kernel" of shape
    `kernel_size + (channels, depth_multiplier)`, "bias" of shape `(channels * depth_multiplier,)`.

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    >>> layer(lk.ops.ones((4, 10, 10, 12))).shape
    (4, 10, 10, 24)
    >>> [w.shape for w in layer.weights]
    [(3, 3, 12, 2), (24,)]
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(
            rank=2, depth_multiplier=depth_multiplier, kernel_size=kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
            depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint, **kwargs)
