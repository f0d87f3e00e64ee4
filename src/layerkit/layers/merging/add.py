"""Add: the elementwise sum of a list of tensors."""
from layerkit import ops
from layerkit.layers.merging.base_merge import Merge


class Add(Merge):
    """Performs elementwise addition operation.

    It takes as input a list of tensors, all of the same shape (or broadcastable after the
    batch axis), and returns a single tensor (also of the same shape). Typical use: residual
    connections, `Add()([x, block(x)])`.

    Call arguments:
        inputs: a list of at least 1 tensor.

    Input shape: a list of shapes that broadcast. Output shape: the broadcast shape.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Add()([lk.ops.ones((2, 3)), lk.ops.ones((2, 3))]).shape
    (2, 3)
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return output


def add(inputs, **kwargs):
    """Functional interface to the `Add` layer: `add([x1, x2, ...])`.

    Args:
        inputs: a list of input tensors with broadcastable shapes.
        **kwargs: standard layer keyword arguments (e.g. `name`).

    Returns:
        A tensor, the sum of the inputs.
    """
    return Add(**kwargs)(inputs)
