"""Dense: the densely connected layer, `activation(inputs @ kernel + bias)`."""
from layerkit import activations, constraints, initializers, ops, regularizers
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class Dense(Layer):
    """Just your regular densely-connected layer: `activation(dot(inputs, kernel) + bias)`.

    On inputs of rank > 2 it applies to the last axis (every other axis is batch-like): a
    (batch, steps, features) input gives (batch, steps, units).

    Args:
        units: dimensionality of the output space.
        activation: activation function or its name (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (or names) of the weights.
        kernel_regularizer, bias_regularizer: regularizers of the weights, added to `losses`.
        activity_regularizer: regularizer of the output.
        kernel_constraint, bias_constraint: constraints applied after optimizer updates.

    Input shape: (batch, ..., input_dim). Output shape: (batch, ..., units).

    Example:
    >>> import layerkit as lk
    >>> layer = lk.layers.Dense(3, activation="relu")
    >>> layer(lk.ops.ones((2, 4))).shape
    (2, 3)
    >>> [w.shape for w in layer.weights]
    [(4, 3), (3,)]
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None, **kwargs):
        kwargs.pop("quantization_config", None)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense: `units` must be a positive int, received {units!r}.")
        if lora_rank:
            raise ValueError("Dense: LoRA (`lora_rank`) is not supported.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known to create the kernel, "
                             f"received an input of shape {tuple(input_shape)}.")
        self.kernel = self.add_weight(name="kernel", shape=(input_dim, self.units),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs, training=None):
        x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,
        })
        return config
