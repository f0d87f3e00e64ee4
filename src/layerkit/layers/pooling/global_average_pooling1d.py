"""GlobalAveragePooling1D: the mean over the steps of a sequence (masked steps left out)."""
from layerkit import ops
from layerkit.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Global average pooling operation for temporal data.

    Averages a sequence over its steps, one value per channel: the usual way to turn the
    per-step features of a Conv1D/Embedding stack into one vector per sequence. With a mask
    (e.g. from `Embedding(mask_zero=True)`), only the unmasked steps are averaged; the output
    carries no mask.

    Args:
        data_format: "channels_last" (default: `(batch, steps, features)`) or
            "channels_first" (`(batch, features, steps)`).
        keepdims: keep the steps axis with size 1.

    Call arguments:
        inputs: a tensor of rank 3.
        mask: a boolean tensor of shape (batch, steps): which steps to average (a sample
            whose steps are all masked gives NaN, as in Keras).

    Input shape: (batch, steps, features), or (batch, features, steps) with channels_first.
    Output shape: (batch, features); with keepdims, (batch, 1, features) or (batch, features, 1).

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.convert_to_tensor([[[1.0], [2.0], [6.0]]])
    >>> lk.layers.GlobalAveragePooling1D()(x).numpy()
    array([[3.]], dtype=float32)
    >>> mask = lk.ops.convert_to_tensor([[True, True, False]])
    >>> lk.layers.GlobalAveragePooling1D()(x, mask=mask).numpy()
    array([[1.5]], dtype=float32)
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        steps_axis = self.spatial_axes[0]
        if mask is None:
            return ops.mean(inputs, axis=steps_axis, keepdims=self.keepdims)
        mask = ops.expand_dims(ops.cast(mask, "bool"), 2 if self.data_format == "channels_last" else 1)
        total = ops.sum(ops.where(mask, inputs, 0.0), axis=steps_axis, keepdims=self.keepdims)
        return total / ops.sum(ops.cast(mask, inputs.dtype), axis=steps_axis, keepdims=self.keepdims)

    def compute_mask(self, inputs, previous_mask):
        return None
