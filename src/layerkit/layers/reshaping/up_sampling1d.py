"""UpSampling1D: each step of a sequence repeated `size` times."""
from layerkit import ops
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


def repeat_along(x, factor, axis):
    """Each slice of `x` along `axis` repeated `factor` times (nearest-neighbour upsampling):
    stacked copies with the two axes merged, which needs no sizes (a traced input may have
    several unknown ones)."""
    from layerkit.ops.layout import merge_axes

    return merge_axes(ops.stack([x] * factor, axis=axis + 1), axis)


class UpSampling1D(Layer):
    """Upsampling layer for 1D inputs.

    Repeats each step of a sequence `size` times along the steps axis (nearest-neighbour
    upsampling), e.g. in a sequence decoder.

    Args:
        size: a positive int, the upsampling factor.

    Call arguments:
        inputs: a tensor of rank 3.

    Input shape: (batch, steps, features). Output shape: (batch, steps * size, features).

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.reshape(lk.ops.arange(4, dtype="float32"), (1, 2, 2))
    >>> lk.layers.UpSampling1D(2)(x).numpy()
    array([[[0., 1.],
            [0., 1.],
            [2., 3.],
            [2., 3.]]], dtype=float32)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = U.check_positive_int(U.layer_label(self), size, "size")
        self.input_spec = InputSpec(ndim=3)
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        return repeat_along(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        U.check_rank(U.layer_label(self), input_shape, 1)
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size})
        return config
