"""GroupNormalization: normalizes each sample over groups of channels (Wu & He, 2018)."""
import numbers

from layerkit import constraints, initializers, ops, regularizers
from layerkit.layers.input_spec import InputSpec
from layerkit.layers.layer import Layer


class GroupNormalization(Layer):
    """Group normalization: the channels are split into groups, and each sample is normalized
    with the mean and variance of each group (over the group's channels and every other
    non-batch axis).

    Its accuracy is stable over a wide range of batch sizes, unlike BatchNormalization, so it
    suits small-batch training (detection, segmentation). `groups=1` is close to
    LayerNormalization over all non-batch axes (but `gamma`/`beta` span only the channels);
    `groups=-1` (one group per channel) is instance normalization.

    Args:
        groups: the number of groups, in [1, channels]; the channels must divide into it.
            -1 means one group per channel (becomes the channel count when built).
        axis: the channels axis (an int, not the batch axis).
        epsilon: small float added to the variance to avoid dividing by zero.
        center: whether to add the learned per-channel offset `beta`.
        scale: whether to multiply by the learned per-channel factor `gamma`.
        beta_initializer, gamma_initializer: initializers of `beta` and `gamma`.
        beta_regularizer, gamma_regularizer: regularizers of `beta` and `gamma`.
        beta_constraint, gamma_constraint: constraints of `beta` and `gamma`.

    Call arguments:
        inputs: a tensor of rank >= 2 whose channels axis is known.

    Input shape: arbitrary (batch first). Output shape: the input's shape.

    Example:
    >>> import layerkit as lk
    >>> import numpy as np
    >>> layer = lk.layers.GroupNormalization(groups=2, epsilon=0.0)
    >>> x = np.array([[1.0, 3.0, 0.0, 10.0]], dtype="float32")
    >>> np.round(np.asarray(layer(x)), 2)
    array([[-1.,  1., -1.,  1.]], dtype=float32)
    >>> [w.shape for w in layer.weights]
    [(4,), (4,)]
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        who = f"GroupNormalization '{self.name}'"
        if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or (groups <= 0 and groups != -1):
            raise ValueError(f"{who}: `groups` must be a positive int (or -1 for instance normalization), "
                             f"received {groups!r}.")
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"{who}: `axis` must be an int (the channels axis), received {axis!r}.")
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or epsilon < 0:
            raise ValueError(f"{who}: `epsilon` must be a non-negative float, received {epsilon!r}.")
        self.groups = int(groups)
        self.axis = int(axis)
        self.epsilon = epsilon
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    def _channel_axis(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} must name a non-batch axis of the "
                             f"input, but the input has shape {tuple(input_shape)} (rank {rank}).")
        return self.axis % rank

    def build(self, input_shape):
        axis = self._channel_axis(input_shape)
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} of the input must be known to "
                             f"create the weights, received an input of shape {tuple(input_shape)}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"GroupNormalization '{self.name}': `groups`={self.groups} cannot be more than the "
                             f"number of channels ({dim}) of the input of shape {tuple(input_shape)}.")
        if dim % self.groups:
            raise ValueError(f"GroupNormalization '{self.name}': the number of channels ({dim}) must be a multiple "
                             f"of `groups`={self.groups}; received an input of shape {tuple(input_shape)}.")
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=(dim,), initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=(dim,), initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)

    def _grouped_shape(self, shape, axis):
        """`shape` with the channels axis split into (groups, channels // groups); batch -1."""
        out = [-1] + list(shape[1:])
        out[axis] = shape[axis] // self.groups
        out.insert(axis, self.groups)
        return out

    def call(self, inputs):
        x = inputs if inputs.dtype == self.dtype else ops.cast(inputs, self.dtype)
        axis = self._channel_axis(x.shape)
        if any(d is None for d in x.shape[1:]):  # a symbolic input with unknown sizes
            mean, variance = self._moments_by_channel(x, axis)
            return self._normalize(x, mean, variance, None, None)
        # (batch, ..., groups, channels // groups, ...): statistics over every axis but the batch
        # and the group axes, broadcast back over each group's elements
        grouped = ops.reshape(x, self._grouped_shape(x.shape, axis))
        reduce = [i for i in range(1, len(grouped.shape)) if i != axis]
        mean = ops.mean(grouped, axis=reduce, keepdims=True)
        variance = ops.mean(ops.square(grouped - mean), axis=reduce, keepdims=True)
        return self._normalize(grouped, mean, variance, axis, x.shape)

    def _normalize(self, x, mean, variance, axis, out_shape):
        """x * inv + (beta - mean * inv) with inv = gamma * rsqrt(var + epsilon) (Keras's order);
        `axis` given: `x` is in grouped form, and the result is reshaped to `out_shape`."""
        if axis is None:
            broadcast = [1] * len(x.shape)
            broadcast[self._channel_axis(x.shape)] = -1
        else:
            broadcast = [1] * len(x.shape)
            broadcast[axis], broadcast[axis + 1] = self.groups, -1
        inv = ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * ops.reshape(self.gamma, broadcast)
        res = ops.negative(mean) * inv
        if self.beta is not None:
            res = res + ops.reshape(self.beta, broadcast)
        out = x * inv + res
        return out if axis is None else ops.reshape(out, (-1,) + tuple(out_shape[1:]))

    def _moments_by_channel(self, x, axis):
        """Group mean and variance broadcast to each channel, shape (batch, 1, .., channels, .., 1),
        computed without reshaping `x` itself: works when `x` has unknown non-batch sizes
        (symbolic inputs), where splitting the channels axis by reshape cannot."""
        spatial = [i for i in range(1, len(x.shape)) if i != axis]
        count = ops.sum(ops.where(True, 1.0, x), axis=spatial, keepdims=True)  # ones_like for unknown sizes

        def per_channel(total):  # per-channel sums -> the group's statistic, repeated per channel
            grouped = self._grouped_shape(total.shape, axis)
            stat = ops.sum(ops.reshape(total, grouped), axis=axis + 1, keepdims=True) / ops.sum(
                ops.reshape(count, grouped), axis=axis + 1, keepdims=True)
            stat = ops.where(True, stat, ops.reshape(total, grouped))  # broadcast over the group's channels
            return ops.reshape(stat, (-1,) + tuple(total.shape[1:]))

        mean = per_channel(ops.sum(x, axis=spatial, keepdims=True))
        variance = per_channel(ops.sum(ops.square(x - mean), axis=spatial, keepdims=True))
        return mean, variance

    def compute_output_shape(self, input_shape):
        self._channel_axis(input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        })
        return config
