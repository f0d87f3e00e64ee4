"""BaseDepthwiseConv: what DepthwiseConv1D and DepthwiseConv2D share."""
from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class BaseDepthwiseConv(Layer):
    """Abstract N-D depthwise convolution layer (N = `rank`, 1 or 2).

    Each input channel is convolved with its own `depth_multiplier` filters, and the results
    are concatenated (channel c gives output channels c * depth_multiplier ... + depth_multiplier
    - 1): no mixing across channels. The kernel has shape
    `kernel_size + (input_channels, depth_multiplier)` and is named "kernel" (as in Keras 3);
    the bias has shape `(input_channels * depth_multiplier,)`.

    Args:
        rank: the number of spatial axes, 1 or 2.
        depth_multiplier: the number of filters per input channel.
        kernel_size, strides, padding ("valid"/"same"), data_format, dilation_rate: as in Conv2D.
        activation, use_bias: as in Conv2D.
        depthwise_initializer, bias_initializer: initializers of the kernel and the bias.
        depthwise_regularizer, bias_regularizer, activity_regularizer: regularizers.
        depthwise_constraint, bias_constraint: constraints applied after optimizer updates.
    """

    def __init__(self, rank, depth_multiplier, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = U.layer_label(self)
        self.rank = rank
        self.depth_multiplier = U.check_positive_int(who, depth_multiplier, "depth_multiplier")
        self.kernel_size = U.standardize_tuple(who, kernel_size, rank, "kernel_size")
        self.strides = U.standardize_tuple(who, strides, rank, "strides")
        self.dilation_rate = U.standardize_tuple(who, dilation_rate, rank, "dilation_rate")
        self.padding = U.standardize_padding(who, padding)
        self.data_format = U.standardize_data_format(who, data_format)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: `strides > 1` cannot be combined with `dilation_rate > 1`, received "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}.")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        who = U.layer_label(self)
        U.check_rank(who, input_shape, self.rank)
        _, channels = U.split_channels(input_shape, self.data_format)
        if channels is None:
            raise ValueError(f"{who}: the channel axis of the input must be known to create the kernel, received an "
                             f"input of shape {U.shape_str(input_shape)} (data_format={self.data_format!r}).")
        self.compute_output_shape(input_shape)  # raises when the kernel does not fit the input
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(channels * self.depth_multiplier,),
                                        initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})

    def call(self, inputs):
        outputs = ops.depthwise_conv(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                     data_format=self.data_format, dilation_rate=self.dilation_rate)
        return U.bias_and_activation(self, outputs)

    def compute_output_shape(self, input_shape):
        _, channels = U.split_channels(input_shape, self.data_format)
        return U.conv_output_shape(self, input_shape, None if channels is None else channels * self.depth_multiplier)

    def get_config(self):
        config = super().get_config()
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config
