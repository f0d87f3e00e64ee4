"""BaseConv: what Conv1D and Conv2D share — argument checks, the kernel and bias, the forward
pass `activation(conv(inputs, kernel) + bias)`, the output shape and the config."""
from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class BaseConv(Layer):
    """Abstract N-D convolution layer (N = `rank`, 1 or 2): the parent of Conv1D and Conv2D.

    The kernel has shape `kernel_size + (input_channels // groups, filters)` for either
    `data_format` (as in Keras, so weights interchange), the bias `(filters,)`.

    Args:
        rank: the number of spatial axes, 1 or 2.
        filters: the number of output channels (a positive int, divisible by `groups`).
        kernel_size: an int or a tuple of `rank` ints, the window's size.
        strides: an int or a tuple of `rank` ints; `strides > 1` excludes `dilation_rate > 1`.
        padding: "valid" (none), "same" (output size ceil(input / stride)), or for rank 1
            "causal" (left padding only: output[t] does not depend on input[t + 1:]).
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or a tuple of `rank` ints, the spacing of the kernel's taps.
        groups: split the input channels into this many groups, each convolved with
            `filters // groups` filters; the results are concatenated along the channels.
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (or names) of the weights.
        kernel_regularizer, bias_regularizer: regularizers of the weights, added to `losses`.
        activity_regularizer: regularizer of the output.
        kernel_constraint, bias_constraint: constraints applied after optimizer updates.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = U.layer_label(self)
        if lora_rank:
            raise ValueError(f"{who}: LoRA (`lora_rank`) is not supported.")
        self.rank = rank
        self.filters = U.check_positive_int(who, filters, "filters")
        self.groups = U.check_positive_int(who, groups, "groups")
        if self.filters % self.groups:
            raise ValueError(f"{who}: `filters` must be divisible by `groups`, received filters={filters} and "
                             f"groups={groups}.")
        self.kernel_size = U.standardize_tuple(who, kernel_size, rank, "kernel_size")
        self.strides = U.standardize_tuple(who, strides, rank, "strides")
        self.dilation_rate = U.standardize_tuple(who, dilation_rate, rank, "dilation_rate")
        self.padding = U.standardize_padding(who, padding, allow_causal=rank == 1)
        self.data_format = U.standardize_data_format(who, data_format)
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

    def _input_channels(self, input_shape):
        """The input's channel count, checked: known, and divisible by `groups`."""
        who = U.layer_label(self)
        U.check_rank(who, input_shape, self.rank)
        _, channels = U.split_channels(input_shape, self.data_format)
        if channels is None:
            raise ValueError(f"{who}: the channel axis of the input must be known to create the kernel, received an "
                             f"input of shape {U.shape_str(input_shape)} (data_format={self.data_format!r}).")
        if channels % self.groups:
            raise ValueError(f"{who}: the number of input channels must be divisible by groups={self.groups}, but "
                             f"received an input of shape {U.shape_str(input_shape)} ({channels} channels).")
        return channels

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)  # raises when the kernel does not fit the input
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})

    def call(self, inputs):
        padding = self.padding
        if padding == "causal":
            # left-pad by the dilated kernel's reach, so output[t] sees input[:t + 1] only
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            pads = ((0, 0), (left, 0), (0, 0)) if self.data_format == "channels_last" else ((0, 0), (0, 0), (left, 0))
            inputs = ops.pad(inputs, pads)
            padding = "valid"
        outputs = ops.conv(inputs, self.kernel, strides=self.strides, padding=padding, data_format=self.data_format,
                           dilation_rate=self.dilation_rate)
        return U.bias_and_activation(self, outputs)

    def compute_output_shape(self, input_shape):
        return U.conv_output_shape(self, input_shape, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
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
