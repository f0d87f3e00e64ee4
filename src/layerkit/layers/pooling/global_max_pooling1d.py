"""GlobalMaxPooling1D: the largest value over the steps of a sequence, per channel."""
from layerkit import ops
from layerkit.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Global max pooling operation for temporal data.

    Keeps each channel's strongest response over the whole sequence, wherever it occurs (e.g.
    after a Conv1D text classifier's feature detectors). Masks are not used.

    Args:
        data_format: "channels_last" (default: `(batch, steps, features)`) or
            "channels_first" (`(batch, features, steps)`).
        keepdims: keep the steps axis with size 1.

    Call arguments:
        inputs: a tensor of rank 3.

    Input shape: (batch, steps, features), or (batch, features, steps) with channels_first.
    Output shape: (batch, features); with keepdims, (batch, 1, features) or (batch, features, 1).

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.convert_to_tensor([[[1.0, 5.0], [4.0, 2.0]]])
    >>> lk.layers.GlobalMaxPooling1D()(x).numpy()
    array([[4., 5.]], dtype=float32)
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs):
        return ops.max(inputs, axis=self.spatial_axes[0], keepdims=self.keepdims)
