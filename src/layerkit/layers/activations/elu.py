"""ELU: the exponential linear unit, `x` for x > 0 and `alpha * (exp(x) - 1)` otherwise."""
import numbers

from layerkit import activations
from layerkit.layers.layer import Layer


class ELU(Layer):
    """Applies an Exponential Linear Unit function to an output.

    `f(x) = x` for `x > 0` and `alpha * (exp(x) - 1)` for `x <= 0`: smooth, with negative
    outputs that push mean activations towards zero.

    Args:
        alpha: the scale of the negative part (default 1.0).

    Call arguments:
        inputs: a tensor.

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.ELU(alpha=2.0)(lk.ops.convert_to_tensor([-100.0, 1.0]))
    <Tensor shape=(2,), dtype=float32, numpy=
    [-2.,  1.]>
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"ELU '{self.name}': `alpha` must be a number, received alpha={alpha!r}.")
        self.alpha = alpha
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        # Keras's ELU config comes from its automatic config: name, alpha, then the rest
        return {"name": config.pop("name"), "alpha": self.alpha, **config}
