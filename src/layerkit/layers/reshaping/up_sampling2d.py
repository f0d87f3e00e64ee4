"""UpSampling2D: an image enlarged by integer factors, by nearest-neighbour or bilinear interpolation."""
from layerkit import ops
from layerkit.layers.convolutional import conv_utils as U
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer
from layerkit.layers.reshaping.up_sampling1d import repeat_along

_INTERPOLATIONS = ("nearest", "bilinear")


def _linear_upsample(x, axis, factor):
    """Linear interpolation by an integer `factor` along `axis`, with half-pixel centres (output
    cell o samples input coordinate (o + 0.5) / factor - 0.5, clamped to the edges), as
    `jax.image.resize`/`tf.image.resize` do. Output cell i * factor + r lies at offset
    t = (r + 0.5) / factor - 0.5 from input cell i, so it blends cell i with its neighbour on
    the side of t, the same weights for every i."""
    def part(start, stop):
        key = [slice(None)] * x.ndim
        key[axis] = slice(start, stop)
        return x[tuple(key)]

    prev = ops.concatenate([part(0, 1), part(0, -1)], axis=axis)  # x[i - 1], x[0] at the border
    nxt = ops.concatenate([part(1, None), part(-1, None)], axis=axis)  # x[i + 1], x[n - 1] at the border
    phases = []
    for r in range(factor):
        t = (r + 0.5) / factor - 0.5
        other = nxt if t >= 0 else prev
        phases.append(x * (1.0 - abs(t)) + other * abs(t))
    y = ops.stack(phases, axis=axis + 1)
    shape = [-1 if d is None else d for d in x.shape]
    shape[axis] = -1 if x.shape[axis] is None else x.shape[axis] * factor
    return ops.reshape(y, shape)


class UpSampling2D(Layer):
    """Upsampling layer for 2D inputs.

    Enlarges an image by `size` (rows, columns): "nearest" repeats each pixel, "bilinear"
    interpolates between neighbours (half-pixel centres, edges clamped, as Keras's
    `ops.image.resize`). A fixed, weightless upsampling for decoders and feature pyramids.

    Args:
        size: an int or a tuple of 2 ints, the upsampling factors for rows and columns.
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (default) or "bilinear".

    Call arguments:
        inputs: a tensor of rank 4.

    Input shape: (batch, rows, cols, channels), or (batch, channels, rows, cols) with
    channels_first. Output shape: (batch, rows * size[0], cols * size[1], channels), or its
    channels_first twin.

    Example:
    >>> import layerkit as lk
    >>> x = lk.ops.reshape(lk.ops.arange(4, dtype="float32"), (1, 2, 2, 1))
    >>> lk.layers.UpSampling2D((1, 2))(x).numpy()[0, :, :, 0]
    array([[0., 0., 1., 1.],
           [2., 2., 3., 3.]], dtype=float32)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        who = U.layer_label(self)
        self.size = U.standardize_tuple(who, size, 2, "size")
        self.data_format = U.standardize_data_format(who, data_format)
        interp = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if interp not in _INTERPOLATIONS:
            raise ValueError(f"{who}: `interpolation` must be one of {_INTERPOLATIONS}, received "
                             f"interpolation={interpolation!r}.")
        self.interpolation = interp
        self.input_spec = InputSpec(ndim=4)
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 2, 3, 1))
        for axis, factor in ((1, self.size[0]), (2, self.size[1])):
            if factor == 1:
                continue
            if self.interpolation == "nearest":
                x = repeat_along(x, factor, axis)
            else:
                x = _linear_upsample(x, axis, factor)
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 3, 1, 2))
        return x

    def compute_output_shape(self, input_shape):
        U.check_rank(U.layer_label(self), input_shape, 2)
        spatial, channels = U.split_channels(input_shape, self.data_format)
        out = tuple(None if n is None else n * f for n, f in zip(spatial, self.size))
        return U.join_channels(input_shape[0], out, channels, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format, "interpolation": self.interpolation})
        return config
