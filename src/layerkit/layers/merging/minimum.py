"""Minimum: the elementwise min of a list of tensors."""
from layerkit import ops
from layerkit.layers.merging.base_merge import Merge


class Minimum(Merge):
    """Computes the element-wise min of a list of inputs.

    It takes as input a list of tensors, all of the same shape (or broadcastable after the
    batch axis), and returns a single tensor of that shape.

    With masks, a masked entry does not take part: it is replaced by the other operand's
    value (as in Keras).

    Call arguments:
        inputs: a list of at least 1 tensor.
        mask: a list of masks, one per input (usually picked up from the inputs).

    Input shape: a list of shapes that broadcast. Output shape: the broadcast shape.

    Example:
    >>> import layerkit as lk
    >>> a = lk.ops.convert_to_tensor([[1.0, 2.0]])
    >>> b = lk.ops.convert_to_tensor([[3.0, -1.0]])
    >>> lk.layers.Minimum()([a, b])
    <Tensor shape=(1, 2), dtype=float32, numpy=
    [[ 1., -1.]]>
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.minimum(output, x)
        return output

    def _merge_with_masks(self, inputs, masks):
        if all(m is None for m in masks):
            return self._merge_function(inputs)
        return self._masked_merge(ops.minimum, inputs, masks)


def minimum(inputs, **kwargs):
    """Functional interface to the `Minimum` layer: `minimum([x1, x2, ...])`.

    Args:
        inputs: a list of input tensors with broadcastable shapes.
        **kwargs: standard layer keyword arguments (e.g. `name`).
    """
    return Minimum(**kwargs)(inputs)
