"""Multiply: the elementwise product of a list of tensors."""
from layerkit import ops
from layerkit.layers.merging.base_merge import Merge, _mask_for


class Multiply(Merge):
    """Performs elementwise multiplication.

    It takes as input a list of tensors, all of the same shape (or broadcastable after the
    batch axis), and returns their product. Typical use: gating, `Multiply()([x, gate])`.

    With masks on every input, masked entries count as 1 in the product and the output is 0
    where all inputs are masked (as in Keras).

    Call arguments:
        inputs: a list of at least 1 tensor.
        mask: a list of masks, one per input (usually picked up from the inputs).

    Input shape: a list of shapes that broadcast. Output shape: the broadcast shape.

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.convert_to_tensor([[1.0, 2.0]])
    >>> lk.layers.Multiply()([x, x])
    <Tensor shape=(1, 2), dtype=float32, numpy=
    [[1., 4.]]>
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.multiply(output, x)
        return output

    def _merge_with_masks(self, inputs, masks):
        if all(m is None for m in masks):
            return self._merge_function(inputs)
        all_masked = all(m is not None for m in masks)
        output, output_mask = None, None
        for x, m in zip(inputs, masks):
            if m is not None:
                m = _mask_for(m, x)
                x = ops.where(m, x, ops.ones((), x.dtype))
                if all_masked:
                    output_mask = m if output_mask is None else ops.logical_or(output_mask, m)
            output = x if output is None else ops.multiply(output, x)
        if all_masked:
            output = ops.where(output_mask, output, ops.zeros((), output.dtype))
        return output


def multiply(inputs, **kwargs):
    """Functional interface to the `Multiply` layer: `multiply([x1, x2, ...])`.

    Args:
        inputs: a list of input tensors with broadcastable shapes.
        **kwargs: standard layer keyword arguments (e.g. `name`).
    """
    return Multiply(**kwargs)(inputs)
