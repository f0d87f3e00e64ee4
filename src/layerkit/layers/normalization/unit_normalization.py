"""UnitNormalization: scales each sample to unit L2 norm over the given axes."""
import numbers

from layerkit import ops
from layerkit.layers.layer import Layer

# Keras's `ops.normalize(..., epsilon=1e-12)`: norms below it are treated as equal to it
_EPSILON = 1e-12


class UnitNormalization(Layer):
    """Unit normalization: each sample is divided by its L2 norm over `axis`, so that
    `sum(outputs ** 2, axis) == 1`.

    Use it to compare embeddings by cosine similarity (a dot product of unit vectors). It has
    no weights and behaves the same in training and inference. The norm is bounded below by
    1e-12, so an all-zero sample stays zero.

    Args:
        axis: an int or a list of ints, the axis or axes to normalize over (-1: the last).

    Call arguments:
        inputs: a tensor (ints are converted to floats).

    Input shape: arbitrary. Output shape: the input's shape.

    Example:
    >>> import layerkit as lk
    >>> import numpy as np
    >>> out = lk.layers.UnitNormalization()(np.array([[3.0, 4.0], [0.0, 0.0]], dtype="float32"))
    >>> np.asarray(out)
    array([[0.6, 0.8],
           [0. , 0. ]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or any(not isinstance(a, numbers.Integral) or isinstance(a, bool) for a in axis):
                raise TypeError(f"UnitNormalization '{self.name}': `axis` must be an int or a non-empty list of "
                                f"ints, received {axis!r}.")
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"UnitNormalization '{self.name}': `axis` must be an int or a list of ints, received "
                            f"{axis!r}.")
        self.supports_masking = True

    def _check_axes(self, input_shape):
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(f"UnitNormalization '{self.name}': axis {a} is out of bounds for an input of shape "
                                 f"{tuple(input_shape)} (rank {rank}); received axis={self.axis}.")
        return axes

    def call(self, inputs):
        x = inputs if inputs.dtype == self.dtype else ops.cast(inputs, self.dtype)
        axes = self._check_axes(x.shape)
        # x * min(1 / ||x||, 1 / epsilon), as Keras computes it
        inv_norm = ops.rsqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))
        return x * ops.minimum(inv_norm, 1.0 / _EPSILON)

    def compute_output_shape(self, input_shape):
        self._check_axes(input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
