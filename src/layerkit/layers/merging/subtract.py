"""Subtract: the difference of exactly two tensors."""
from layerkit import ops
from layerkit.layers.merging.base_merge import Merge, check_input_list


class Subtract(Merge):
    """Performs elementwise subtraction: `inputs[0] - inputs[1]`.

    It takes as input a list of exactly two tensors of the same shape (or broadcastable after
    the batch axis) and returns one tensor.

    Call arguments:
        inputs: a list of exactly 2 tensors.

    Input shape: a list of two shapes that broadcast. Output shape: the broadcast shape.

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.convert_to_tensor([[5.0, 3.0]])
    >>> lk.layers.Subtract()([x, lk.ops.ones((1, 2))])
    <Tensor shape=(1, 2), dtype=float32, numpy=
    [[4., 2.]]>
    """

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(f"Subtract '{self.name}' should be called on exactly 2 inputs, but received "
                             f"input_shape={input_shape}.")
        super().build(input_shape)

    def call(self, inputs, mask=None):
        check_input_list(self, inputs, exactly=2)
        return super().call(inputs, mask=mask)

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(f"Subtract '{self.name}' should be called on exactly 2 inputs, but received "
                             f"input_shape={input_shape}.")
        return super().compute_output_shape(input_shape)

    def _merge_function(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


def subtract(inputs, **kwargs):
    """Functional interface to the `Subtract` layer: `subtract([x1, x2])` is `x1 - x2`.

    Args:
        inputs: a list of exactly 2 input tensors with broadcastable shapes.
        **kwargs: standard layer keyword arguments (e.g. `name`).
    """
    return Subtract(**kwargs)(inputs)
