"""Merge: the base of the layers that combine a list of tensors elementwise (Add, Multiply, ...).

Shapes broadcast as in NumPy after the batch axis; inputs of lower rank get size-1 axes
inserted after the batch axis (Keras's rule). Masks: the output mask is the logical OR of the
input masks when every input has one, and None otherwise (Keras's rule).
"""
from layerkit import ops
from layerkit.layers.layer import Layer


def _shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def check_input_list(layer, inputs, exactly=None):
    """Raises a ValueError naming `layer` unless `inputs` is a list/tuple of tensors (of length
    `exactly`, or at least 1)."""
    who = f"{type(layer).__name__} '{layer.name}'"
    if not isinstance(inputs, (list, tuple)) or not all(hasattr(x, "shape") for x in inputs):
        got = type(inputs).__name__ + (f" of shape {_shape_str(inputs.shape)}" if hasattr(inputs, "shape") else "")
        raise ValueError(f"{who} should be called on a list of tensors, but received a {got}.")
    if exactly is not None and len(inputs) != exactly:
        raise ValueError(f"{who} should be called on exactly {exactly} inputs, but received {len(inputs)} inputs "
                         f"of shapes {[_shape_str(x.shape) for x in inputs]}.")
    if not inputs:
        raise ValueError(f"{who} should be called on a list of at least 1 input, but received an empty list.")


class Merge(Layer):
    """Base class of the elementwise merge layers.

    Subclasses implement `_merge_function(inputs)` (a list of tensors of equal rank, to be
    combined); the ones that treat masked entries specially (Multiply, Maximum, Minimum)
    override `_merge_with_masks(inputs, masks)` instead.

    Call arguments:
        inputs: a list of tensors whose shapes broadcast after the batch axis.
        mask: a list of masks (one per input, each None or a boolean tensor of the input's
            shape without its last axis), usually picked up from the inputs.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._reshape_required = False

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"

    def _merge_function(self, inputs):
        raise NotImplementedError(f"{type(self).__name__} must define _merge_function(inputs): the merge of its inputs.")

    def _merge_with_masks(self, inputs, masks):
        return self._merge_function(inputs)

    def _elementwise_shape(self, shape1, shape2, all_shapes):
        """NumPy broadcasting of two shapes without their batch axes (None matches anything)."""
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return tuple(shape1)
        out = list(shape1[:len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(f"{self._who()} received inputs with incompatible shapes "
                                 f"{[_shape_str(s) for s in all_shapes]}: axes of sizes {i} and {j} do not "
                                 "broadcast (they must be equal, or one of them 1).")
        return tuple(out)

    def _check_shapes(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"{self._who()} should be called on a list of at least 1 input, but received "
                             f"input_shape={input_shape}.")
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"{self._who()} cannot merge tensors with different batch sizes: received shapes "
                             f"{[_shape_str(s) for s in input_shape]}.")
        out = tuple(input_shape[0][1:])
        for s in input_shape[1:]:
            out = self._elementwise_shape(out, tuple(s[1:]), input_shape)
        return (batch_sizes.pop() if batch_sizes else None,) + out

    def build(self, input_shape):
        self._check_shapes(input_shape)
        self._reshape_required = len({len(s) for s in input_shape}) != 1

    def call(self, inputs, mask=None):
        check_input_list(self, inputs)
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        if self._reshape_required or len({len(x.shape) for x in inputs}) != 1:
            # a lower-rank input gets size-1 axes after the batch axis, so it broadcasts
            rank = max(len(x.shape) for x in inputs)
            inputs = [_expand(x, rank) for x in inputs]
        return self._merge_with_masks(list(inputs), masks)

    def compute_output_shape(self, input_shape):
        return self._check_shapes(input_shape)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"{self._who()}: `mask` must be a list with one entry per input, received {mask!r} "
                             f"for {len(inputs) if isinstance(inputs, (list, tuple)) else 1} input(s).")
        if any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = ops.logical_or(out, m)
        return out

    def _masked_merge(self, op, inputs, masks):
        """`op` folded over the inputs, where a masked entry takes the other operand's value (so
        masked entries do not take part), as Keras's Maximum and Minimum do."""
        output, output_mask = None, None
        for x, m in zip(inputs, masks):
            if m is not None:
                m = _mask_for(m, x)
            if output is None:
                output, output_mask = x, m
                continue
            if m is not None:
                x = ops.where(m, x, output)
            if output_mask is not None:
                output = ops.where(output_mask, output, x)
            output_mask = ops.logical_or(output_mask, m) if m is not None and output_mask is not None else None
            output = op(output, x)
        return output

    def get_config(self):
        return super().get_config()


def _expand(x, rank):
    for _ in range(rank - len(x.shape)):
        x = ops.expand_dims(x, 1)
    return x


def _mask_for(mask, x):
    """`mask` (the input's shape without its last axis) with a trailing size-1 axis, so it
    broadcasts over `x`; a mask of `x`'s full rank is used as it is."""
    return mask if len(mask.shape) >= len(x.shape) else ops.expand_dims(mask, -1)
