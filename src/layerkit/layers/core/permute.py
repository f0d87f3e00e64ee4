"""Permute: reorders the non-batch axes of the input."""
from layerkit import ops
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class Permute(Layer):
    """Permutes the axes of the input according to a given pattern (the batch axis stays first).

    Useful e.g. to swap the time and feature axes of a sequence before a layer that works on
    the last axis.

    Args:
        dims: the permutation of the non-batch axes, numbered from 1 as in Keras: `(2, 1)`
            swaps the first and second non-batch axes.

    Call arguments:
        inputs: a tensor of rank `len(dims) + 1`.

    Input shape: (batch, d1, ..., dn). Output shape: (batch, d[dims[0]], ..., d[dims[-1]]).

    Example:
    >>> import layerkit as lk
    >>> lk.layers.Permute((2, 1))(lk.ops.ones((2, 10, 64))).shape
    (2, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            raise ValueError(f"Permute '{self.name}': `dims` must be a tuple of ints, received {dims!r}.") from None
        ints = all(isinstance(d, int) and not isinstance(d, bool) for d in dims)
        if not dims or not ints or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute '{self.name}': `dims` must be a permutation of 1..{max(len(dims), 1)} (axes "
                             f"are numbered from 1; the batch axis 0 stays in place), received {dims!r}.")
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)
        self.built = True

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config
