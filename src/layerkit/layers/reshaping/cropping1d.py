"""Cropping1D: steps cut off the start and end of a sequence."""
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class Cropping1D(Layer):
    """Cropping layer for 1D input (e.g. temporal sequence).

    Removes steps at the start and the end of the steps axis (axis 1), e.g. to undo padding or
    to align two sequences before merging them.

    Args:
        cropping: an int (the same number of steps at both ends) or a tuple of 2 ints
            (steps cut at the start, steps cut at the end), non-negative.

    Call arguments:
        inputs: a tensor of rank 3.

    Input shape: (batch, steps, features). Output shape: (batch, cropped_steps, features);
    the cropping must leave at least one step.

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.reshape(lk.ops.arange(10, dtype="float32"), (1, 5, 2))
    >>> lk.layers.Cropping1D((1, 2))(x).numpy()
    array([[[2., 3.],
            [4., 5.]]], dtype=float32)
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = U.standardize_tuple(U.layer_label(self), cropping, 2, "cropping", allow_zero=True)
        self.input_spec = InputSpec(ndim=3)
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        self.compute_output_shape(tuple(inputs.shape))  # raises when nothing would be left
        start, end = self.cropping
        return inputs[:, start:(-end if end else None), :]

    def compute_output_shape(self, input_shape):
        who = U.layer_label(self)
        U.check_rank(who, input_shape, 1)
        n = input_shape[1]
        if n is not None and n - sum(self.cropping) <= 0:
            raise ValueError(f"{who}: `cropping` {self.cropping} must leave at least one step, but received an "
                             f"input of shape {U.shape_str(input_shape)} ({n} steps).")
        return (input_shape[0], None if n is None else n - sum(self.cropping), input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping})
        return config
