"""BaseConvTranspose: what Conv1DTranspose and Conv2DTranspose share — argument checks, the
kernel and bias, the forward pass, the output shape and the config."""
from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class BaseConvTranspose(Layer):
    """Abstract N-D transposed convolution layer (N = `rank`, 1 or 2).

    A transposed convolution maps a tensor shaped like a convolution's output back to the
    shape of its input, keeping the same connectivity (it is the gradient of a convolution with
    respect to its input). The kernel has shape `kernel_size + (filters, input_channels)` (as in
    Keras), the bias `(filters,)`.

    Args:
        rank: the number of spatial axes, 1 or 2.
        filters: the number of output channels.
        kernel_size: an int or a tuple of `rank` ints.
        strides: an int or a tuple of `rank` ints; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" or "same" (output size input * strides when `output_padding` is None).
        output_padding: None (inferred), or an int or tuple of `rank` ints, each smaller than the
            matching stride: the extra cells added at the end of each spatial axis.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a tuple of `rank` ints.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as in Conv2D.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = U.layer_label(self)
        self.rank = rank
        self.filters = U.check_positive_int(who, filters, "filters")
        self.kernel_size = U.standardize_tuple(who, kernel_size, rank, "kernel_size")
        self.strides = U.standardize_tuple(who, strides, rank, "strides")
        self.dilation_rate = U.standardize_tuple(who, dilation_rate, rank, "dilation_rate")
        self.padding = U.standardize_padding(who, padding)
        self.output_padding = None if output_padding is None else U.standardize_tuple(
            who, output_padding, rank, "output_padding", allow_zero=True)
        self.data_format = U.standardize_data_format(who, data_format)
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{who}: each value of `output_padding` must be smaller than the matching stride, "
                             f"received output_padding={self.output_padding} and strides={self.strides}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: `strides > 1` cannot be combined with `dilation_rate > 1`, received "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}.")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        who = U.layer_label(self)
        U.check_rank(who, input_shape, self.rank)
        _, channels = U.split_channels(input_shape, self.data_format)
        if channels is None:
            raise ValueError(f"{who}: the channel axis of the input must be known to create the kernel, received an "
                             f"input of shape {U.shape_str(input_shape)} (data_format={self.data_format!r}).")
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})

    def call(self, inputs):
        outputs = ops.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                     output_padding=self.output_padding, data_format=self.data_format,
                                     dilation_rate=self.dilation_rate)
        return U.bias_and_activation(self, outputs)

    def compute_output_shape(self, input_shape):
        U.check_rank(U.layer_label(self), input_shape, self.rank)
        spatial, _ = U.split_channels(input_shape, self.data_format)
        pads = self.output_padding or (None,) * self.rank
        out = tuple(U.conv_transpose_output_length(n, k, s, self.padding, p, d)
                    for n, k, s, p, d in zip(spatial, self.kernel_size, self.strides, pads, self.dilation_rate))
        return U.join_channels(input_shape[0], out, self.filters, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config
