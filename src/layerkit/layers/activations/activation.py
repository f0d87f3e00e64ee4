"""Activation: applies an activation function to its input."""
from layerkit import activations
from layerkit.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function to an output.

    Use it to apply an activation as a separate layer, e.g. after a BatchNormalization that
    follows a linear Dense or Conv layer.

    Args:
        activation: an activation function, or its name (`"relu"`, `"softmax"`, ...).

    Call arguments:
        inputs: a tensor.

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Activation("relu")(lk.ops.convert_to_tensor([-3.0, 0.0, 2.0]))
    <Tensor shape=(3,), dtype=float32, numpy=
    [0., 0., 2.]>
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)
        self.built = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
