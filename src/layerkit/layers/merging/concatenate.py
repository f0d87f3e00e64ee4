"""Concatenate: joins a list of tensors along one axis."""
from layerkit import ops
from layerkit.layers.merging.base_merge import Merge, _mask_for, _shape_str, check_input_list


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`.

    The inputs must have the same rank and the same size on every axis but `axis`. Typical
    use: joining the features of several branches, `Concatenate()([a, b])`.

    With masks: an input without a mask counts as fully unmasked; the output mask is the
    concatenation of the masks along `axis`, reduced over the last axis (Keras's rule), so it
    has the output's shape without its last axis.

    Args:
        axis: the concatenation axis (default -1).

    Call arguments:
        inputs: a list of at least 1 tensor.
        mask: a list of masks, one per input (usually picked up from the inputs).

    Input shape: a list of shapes equal except on `axis`. Output shape: the same, with the
    sizes on `axis` summed.

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Concatenate(axis=1)([lk.ops.ones((2, 3)), lk.ops.zeros((2, 4))]).shape
    (2, 7)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"Concatenate '{self.name}': `axis` must be an int, received axis={axis!r}.")
        self.axis = axis
        self.supports_masking = True

    def _check(self, input_shape):
        who = self._who()
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"{who} should be called on a list of at least 1 input, but received "
                             f"input_shape={input_shape}.")
        shapes = [tuple(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f"{who} requires inputs of the same rank, but received shapes "
                             f"{[_shape_str(s) for s in shapes]}.")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"{who}: `axis`={self.axis} is out of range for inputs of rank {rank}, "
                             f"received shapes {[_shape_str(s) for s in shapes]}.")
        axis = self.axis % rank
        for a in range(rank):
            sizes = {s[a] for s in shapes} - {None}
            if a != axis and len(sizes) > 1:
                raise ValueError(f"{who} requires inputs with matching shapes except on the concatenation axis "
                                 f"{self.axis}, but received shapes {[_shape_str(s) for s in shapes]} (axis {a} "
                                 "differs).")
        return shapes, axis

    def build(self, input_shape):
        self._check(input_shape)

    def call(self, inputs, mask=None):
        check_input_list(self, inputs)
        self._check([tuple(x.shape) for x in inputs])
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes, axis = self._check(input_shape)
        out = list(shapes[0])
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"{self._who()}: `mask` must be a list with one entry per input, received {mask!r}.")
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:  # all valid
                m = ops.ones_like(x[..., :1], dtype="bool")
            elif len(m.shape) >= len(x.shape):
                m = ops.any(m, axis=-1, keepdims=True)
            else:
                m = _mask_for(m, x)
            masks.append(m)
        # masks of size 1 on the last axis: concatenating along it and reducing gives the same
        # result as Keras's full-size masks
        return ops.any(ops.concatenate(masks, axis=self.axis), axis=-1)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to the `Concatenate` layer: `concatenate([x1, x2, ...], axis=-1)`.

    Args:
        inputs: a list of input tensors, equal in shape except on `axis`.
        axis: the concatenation axis.
        **kwargs: standard layer keyword arguments (e.g. `name`).
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
