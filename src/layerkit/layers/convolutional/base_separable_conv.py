"""BaseSeparableConv: what SeparableConv1D and SeparableConv2D share."""
from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class BaseSeparableConv(Layer):
    """Abstract N-D separable convolution layer (N = `rank`, 1 or 2).

    A depthwise convolution (each input channel with its own `depth_multiplier` filters)
    followed by a pointwise (1x1) convolution that mixes the channels into `filters` outputs,
    then a bias. Weights, in Keras's order: "depthwise_kernel"
    `kernel_size + (channels, depth_multiplier)`, "pointwise_kernel"
    `(1,) * rank + (channels * depth_multiplier, filters)`, "bias" `(filters,)`.

    Args:
        rank: the number of spatial axes, 1 or 2.
        depth_multiplier: the number of depthwise filters per input channel.
        filters: the number of output channels.
        kernel_size, strides, padding ("valid"/"same"), data_format, dilation_rate: of the
            depthwise step, as in Conv2D.
        activation, use_bias: as in Conv2D.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer:
            regularizers.
        depthwise_constraint, pointwise_constraint, bias_constraint: constraints.
    """

    def __init__(self, rank, depth_multiplier, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = U.layer_label(self)
        self.rank = rank
        self.depth_multiplier = U.check_positive_int(who, depth_multiplier, "depth_multiplier")
        self.filters = U.check_positive_int(who, filters, "filters")
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
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        who = U.layer_label(self)
        U.check_rank(who, input_shape, self.rank)
        _, channels = U.split_channels(input_shape, self.data_format)
        if channels is None:
            raise ValueError(f"{who}: the channel axis of the input must be known to create the kernels, received "
                             f"an input of shape {U.shape_str(input_shape)} (data_format={self.data_format!r}).")
        self.compute_output_shape(input_shape)  # raises when the kernel does not fit the input
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel", shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})

    def call(self, inputs):
        outputs = ops.separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel, strides=self.strides,
                                     padding=self.padding, data_format=self.data_format,
                                     dilation_rate=self.dilation_rate)
        return U.bias_and_activation(self, outputs)

    def compute_output_shape(self, input_shape):
        return U.conv_output_shape(self, input_shape, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config
