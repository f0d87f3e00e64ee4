"""Softmax: the softmax activation as a layer, with mask support."""
from layerkit import activations, ops
from layerkit.layers.layer import Layer

# what masked positions become before the softmax: exp() of it is 0 in float32 and float64
_LARGE_NEGATIVE = -1e9


class Softmax(Layer):
    """Softmax activation layer: `exp(x) / sum(exp(x))` along `axis`.

    With a mask (passed as `mask=` or carried by the input from a mask-producing layer), the
    masked positions (False) get -1e9 before the softmax and 0 after it, so the probability
    mass goes to the unmasked positions only (as in Keras), e.g. attention scores over padded
    sequences.

    Args:
        axis: the axis (or tuple/list of axes) to normalize over, default -1.

    Call arguments:
        inputs: a float tensor.
        mask: a boolean tensor broadcastable to `inputs` (aligned on the last axes); True keeps
            a position. A non-bool mask counts values > 0.5 as True.

    Input shape: any. Output shape: the same.

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.convert_to_tensor([[1.0, 2.0, 3.0]])
    >>> mask = lk.ops.convert_to_tensor([[True, True, False]])
    >>> lk.layers.Softmax()(x, mask=mask)
    <Tensor shape=(1, 3), dtype=float32, numpy=
    [[0.26894143, 0.7310586 , 0.        ]]>
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(f"Softmax '{self.name}': `axis` must be an int or a list of ints, received {axis!r}.")
        self.axis = axis
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            self._check_mask(inputs, mask)
            if mask.dtype != "bool":
                mask = ops.greater(mask, 0.5)
            inputs = ops.where(mask, inputs, ops.full((), _LARGE_NEGATIVE, inputs.dtype))
        if isinstance(self.axis, (list, tuple)) and len(self.axis) > 1:
            outputs = ops.exp(ops.subtract(inputs, ops.logsumexp(inputs, axis=tuple(self.axis), keepdims=True)))
        else:
            axis = self.axis[0] if isinstance(self.axis, (list, tuple)) else self.axis
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = ops.where(mask, outputs, ops.zeros((), outputs.dtype))
        return outputs

    def _check_mask(self, inputs, mask):
        ok = len(mask.shape) <= len(inputs.shape) and all(
            m is None or i is None or m in (1, i) for m, i in zip(mask.shape[::-1], inputs.shape[::-1]))
        if not ok:
            raise ValueError(f"Softmax '{self.name}': the mask must be broadcastable to the inputs (aligned on the "
                             f"last axes; each mask axis 1 or equal), but received inputs of shape "
                             f"{tuple(inputs.shape)} and a mask of shape {tuple(mask.shape)}.")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
