"""Average: the elementwise mean of a list of tensors."""
from layerkit import ops
from layerkit.layers.merging.base_merge import Merge


class Average(Merge):
    """Averages a list of inputs element-wise.

    It takes as input a list of tensors, all of the same shape (or broadcastable after the
    batch axis), and returns a single tensor: their sum divided by their number. Typical use:
    ensembling the outputs of several branches.

    Call arguments:
        inputs: a list of at least 1 tensor.

    Input shape: a list of shapes that broadcast. Output shape: the broadcast shape.

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.convert_to_tensor([[1.0, 2.0]])
    >>> lk.layers.Average()([x, lk.ops.ones((1, 2)) * 3])
    <Tensor shape=(1, 2), dtype=float32, numpy=
    [[2. , 2.5]]>
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return ops.divide(output, float(len(inputs)))


def average(inputs, **kwargs):
    """Functional interface to the `Average` layer: `average([x1, x2, ...])`.

    Args:
        inputs: a list of input tensors with broadcastable shapes.
        **kwargs: standard layer keyword arguments (e.g. `name`).
    """
    return Average(**kwargs)(inputs)
