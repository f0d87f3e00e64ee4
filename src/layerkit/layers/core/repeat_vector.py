"""RepeatVector: repeats a (batch, features) input n times along a new axis 1."""
from layerkit import ops
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class RepeatVector(Layer):
    """Repeats the input n times.

    Turns one vector per sample into a sequence of n copies, e.g. to feed an encoder's summary
    to every step of a decoder RNN.

    Args:
        n: the number of repetitions, a positive int.

    Call arguments:
        inputs: a tensor of rank 2.

    Input shape: (batch, features). Output shape: (batch, n, features).

    Example:
    >>> import layerkit as lk
    >>> lk.layers.RepeatVector(3)(lk.ops.ones((2, 32))).shape
    (2, 3, 32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"RepeatVector '{self.name}': `n` must be an int, received {n!r} "
                            f"(of type {type(n).__name__}).")
        if n <= 0:
            raise ValueError(f"RepeatVector '{self.name}': `n` must be a positive int, received n={n}.")
        self.n = n
        self.input_spec = InputSpec(ndim=2)
        self.built = True

    def call(self, inputs):
        # a broadcasting multiply by ones, not ops.repeat: it also runs on symbolic inputs with an
        # unknown batch size, and x * 1 keeps every value exactly (-0.0, inf and nan included)
        return ops.multiply(ops.expand_dims(inputs, 1), ops.ones((1, self.n, 1), inputs.dtype))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
