"""Reshape: gives each sample a new shape (the batch axis is kept)."""
import math

from layerkit import ops
from layerkit.layers.layer import Layer
from layerkit.ops import SymbolicTensor
from layerkit.ops.primitive import is_tracing


class Reshape(Layer):
    """Reshapes each sample of the input to `target_shape`.

    The batch axis is not part of `target_shape`; one entry may be -1, inferred from the number
    of elements per sample.

    Args:
        target_shape: the shape of one output sample, a tuple of positive ints and at most one
            -1.

    Call arguments:
        inputs: a tensor of rank >= 1 whose samples have as many elements as `target_shape`.

    Input shape: (batch, ...). Output shape: (batch,) + target_shape (-1 resolved).

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Reshape((3, -1))(lk.ops.ones((2, 12))).shape
    (2, 3, 4)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        who = f"Reshape '{self.name}'"
        try:
            target_shape = tuple(target_shape)
        except TypeError:
            raise ValueError(f"{who}: `target_shape` must be a tuple of ints, received {target_shape!r}.") from None
        if not all(isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in target_shape):
            raise ValueError(f"{who}: `target_shape` must hold positive ints and at most one -1, received "
                             f"{target_shape!r}.")
        if target_shape.count(-1) > 1:
            raise ValueError(f"{who}: `target_shape` may have at most one -1 (an inferred axis), received "
                             f"{target_shape!r}.")
        self.target_shape = target_shape
        self.built = True

    def _resolve(self, sample_shape):
        """`target_shape` with -1 resolved (None when the sample size is unknown)."""
        target = self.target_shape
        if any(d is None for d in sample_shape):
            return tuple(None if d == -1 else d for d in target)
        size = math.prod(sample_shape)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if known == 0 or size % known:
                raise ValueError(f"Reshape '{self.name}' cannot reshape samples of shape {tuple(sample_shape)} "
                                 f"({size} elements) into target_shape {target}: {size} is not a multiple of "
                                 f"{known}.")
            return tuple(size // known if d == -1 else d for d in target)
        if size != known:
            raise ValueError(f"Reshape '{self.name}' cannot reshape samples of shape {tuple(sample_shape)} "
                             f"({size} elements) into target_shape {target} ({known} elements).")
        return target

    def call(self, inputs):
        if len(inputs.shape) < 1:
            raise ValueError(f"Reshape '{self.name}' expects an input with a batch axis, but received a scalar.")
        batch = inputs.shape[0]
        target = self._resolve(inputs.shape[1:])
        if None not in target:
            return ops.reshape(inputs, (-1 if batch is None else batch,) + target)
        if batch is not None:
            return ops.reshape(inputs, (batch,) + self.target_shape)
        if is_tracing():
            raise ValueError(f"Reshape '{self.name}' cannot reshape an input of shape {tuple(inputs.shape)} into "
                             f"target_shape {self.target_shape} inside a traced function: the batch size and the -1 "
                             "axis are both unknown. Trace with known non-batch sizes (only the batch axis None).")
        # a Functional model's shape inference: the shape is all the caller needs
        return SymbolicTensor((None,) + target, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape[1:]))

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config
