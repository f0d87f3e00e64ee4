"""Masking: marks the timesteps whose features all equal `mask_value` as padding."""
from layerkit import ops
from layerkit.layers.layer import Layer


class Masking(Layer):
    """Masks a sequence by using a mask value to skip timesteps.

    For each timestep (every index but the last axis), if all features equal `mask_value`, the
    timestep is masked: its output is zero and its mask entry False, so downstream mask-aware
    layers (RNNs, attention, merges, Softmax) skip it. Use it for padded float sequences; for
    integer token ids use `Embedding(mask_zero=True)` instead.

    Args:
        mask_value: the value that marks padding (default 0.0).

    Call arguments:
        inputs: a float tensor of rank >= 2.

    Input shape: (batch, ..., features). Output shape: the same; the output's mask has shape
    (batch, ...): `any(inputs != mask_value, axis=-1)`.

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.convert_to_tensor([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]])
    >>> out = lk.layers.Masking(mask_value=0.0)(x)
    >>> out._keras_mask
    <Tensor shape=(1, 3), dtype=bool, numpy=
    [[ True, False,  True]]>
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise ValueError(f"Masking '{self.name}': `mask_value` must be a number, received {mask_value!r}.")
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        if len(inputs.shape) < 1:
            raise ValueError(f"Masking '{self.name}' expects an input of rank >= 1 (features on the last axis), but "
                             f"received a scalar.")
        keep = ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        # where, not multiply: a masked timestep of inf/nan padding still becomes exactly 0
        return ops.where(keep, inputs, ops.zeros((), inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
