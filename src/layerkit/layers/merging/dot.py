"""Dot: the dot product of two tensors along given axes, per sample (a batched tensordot)."""
import string

from layerkit import ops
from layerkit.layers.merging.base_merge import Merge, _shape_str, check_input_list


def batch_dot(x, y, axes):
    """The per-sample dot product of `x` and `y` contracting `x`'s axis `axes[0]` with `y`'s
    axis `axes[1]` (both non-batch, non-negative): shape x.shape without the contracted axis,
    then y's non-batch axes without theirs; (batch, 1) when nothing else remains (Keras)."""
    letters = iter(string.ascii_letters)
    batch, shared = next(letters), next(letters)
    xs = [batch] + [shared if i == axes[0] else next(letters) for i in range(1, len(x.shape))]
    ys = [batch] + [shared if i == axes[1] else next(letters) for i in range(1, len(y.shape))]
    out = [c for c in xs if c != shared] + [c for c in ys[1:] if c != shared]
    result = ops.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)
    return ops.expand_dims(result, -1) if len(out) == 1 else result


class Dot(Merge):
    """Computes the dot product between samples of two tensors.

    For inputs `a` of shape (batch, n) and `b` of shape (batch, n), `Dot(axes=1)` gives
    (batch, 1), where each entry is `dot(a[i], b[i])`. In general it contracts axis `axes[0]`
    of the first input with axis `axes[1]` of the second, per sample, and keeps all other
    axes. With `normalize=True`, both inputs are L2-normalized along the contracted axes
    first, so the result is the cosine similarity.

    Args:
        axes: an int, or a list/tuple of two ints: the axes to contract (the batch axis 0 is
            not allowed; negative values count from the end).
        normalize: whether to L2-normalize the inputs along the contracted axes first.

    Call arguments:
        inputs: a list of exactly 2 tensors of rank >= 2 with the same batch size.

    Input shape: two shapes whose sizes on the contracted axes are equal. Output shape: the
    first shape without its contracted axis, then the second shape without its batch and
    contracted axes; (batch, 1) if that leaves only the batch axis.

    Example:
    >>> import layerkit as lk
    >>> a = lk.ops.convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> lk.layers.Dot(axes=1)([a, a])
    <Tensor shape=(2, 1), dtype=float32, numpy=
    [[ 5.],
     [25.]]>
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        who = f"Dot '{self.name}'"
        if isinstance(axes, bool) or not isinstance(axes, (int, list, tuple)):
            raise TypeError(f"{who}: `axes` must be an int or a list of two ints, received axes={axes!r}.")
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"{who}: `axes` must contain two elements, received axes={axes!r}.")
            if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError(f"{who}: the elements of `axes` must be ints, received axes={axes!r}.")
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True

    def _axes_for(self, shape1, shape2):
        """The two contracted axes as non-negative ints, checked against the shapes."""
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        out = []
        for a, shape in zip(axes, (shape1, shape2)):
            rank = len(shape)
            if rank < 2:
                raise ValueError(f"Dot '{self.name}' expects inputs of rank >= 2, but received shapes "
                                 f"{_shape_str(shape1)} and {_shape_str(shape2)}.")
            if not -rank <= a < rank or a % rank == 0:
                raise ValueError(f"Dot '{self.name}': axis {a} of `axes`={self.axes} must be a non-batch axis of an "
                                 f"input of shape {_shape_str(shape)}.")
            out.append(a % rank)
        d1, d2 = shape1[out[0]], shape2[out[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"Dot '{self.name}': incompatible input shapes {_shape_str(shape1)} and "
                             f"{_shape_str(shape2)}: axis {out[0]} has size {d1}, axis {out[1]} has size {d2} "
                             f"(axes={self.axes}).")
        b1, b2 = shape1[0], shape2[0]
        if b1 is not None and b2 is not None and b1 != b2:
            raise ValueError(f"Dot '{self.name}' cannot take the dot product of inputs with different batch sizes: "
                             f"received shapes {_shape_str(shape1)} and {_shape_str(shape2)}.")
        return out

    def _check_two(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f"Dot '{self.name}' should be called on a list of 2 inputs, but received "
                             f"input_shape={input_shape}.")

    def build(self, input_shape):
        self._check_two(input_shape)
        self._axes_for(tuple(input_shape[0]), tuple(input_shape[1]))

    def call(self, inputs, mask=None):
        check_input_list(self, inputs, exactly=2)
        x1, x2 = inputs
        axes = self._axes_for(tuple(x1.shape), tuple(x2.shape))
        if self.normalize:
            x1 = _l2_normalize(x1, axes[0])
            x2 = _l2_normalize(x2, axes[1])
        return batch_dot(x1, x2, axes)

    def compute_output_shape(self, input_shape):
        self._check_two(input_shape)
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        a1, a2 = self._axes_for(tuple(shape1), tuple(shape2))
        shape1.pop(a1)
        shape2.pop(a2)
        out = shape1 + shape2[1:]
        return tuple(out + [1] if len(out) == 1 else out)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def _l2_normalize(x, axis, epsilon=1e-7):
    """x / max(||x||, epsilon) along `axis`, computed as Keras's `ops.normalize`."""
    inv_norm = ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return ops.multiply(x, ops.minimum(inv_norm, 1.0 / epsilon))


def dot(inputs, axes=-1, **kwargs):
    """Functional interface to the `Dot` layer: `dot([x1, x2], axes)`.

    Args:
        inputs: a list of exactly 2 input tensors.
        axes: the axes to contract, an int or a list of two ints.
        normalize: whether to L2-normalize the inputs along the contracted axes first.
        **kwargs: standard layer keyword arguments (e.g. `name`).
    """
    return Dot(axes=axes, **kwargs)(inputs)
