"""Activation functions with Keras 3's names, signatures and defaults, written in `layerkit.ops`
so each is differentiable and runs on symbolic tensors too."""
from layerkit import ops
from layerkit.ops import core as C

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, with Keras's optional leak, cap and threshold.

    With the defaults this is `max(x, 0)`. Otherwise: `max_value` caps the output, values below
    `threshold` become 0 (or `negative_slope * (x - threshold)`), and `negative_slope` is the
    slope below the threshold.

    Example:

    >>> import numpy as np
    >>> np.asarray(relu([-10., -5., 0., 5., 10.], negative_slope=0.5, max_value=5.0, threshold=1.0)).tolist()
    [-5.5, -3.0, -0.5, 5.0, 5.0]

    Args:
        x: input tensor.
        negative_slope: slope below the threshold.
        max_value: the largest value returned (None: no cap).
        threshold: values at or below it are damped to 0 (or leak with `negative_slope`).
    """
    x = C.convert_to_tensor(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return ops.leaky_relu(x, negative_slope=negative_slope)
        negative_part = ops.relu(ops.add(ops.negative(x), threshold)) if threshold != 0 else ops.relu(ops.negative(x))
    clip_max = max_value is not None
    if threshold != 0:
        x = ops.where(ops.greater(x, threshold), x, 0.0 if x.dtype in ('float32', 'float64') else 0)
    elif max_value == 6:
        x = ops.relu6(x)
        clip_max = False
    else:
        x = ops.relu(x)
    if clip_max:
        x = ops.clip(x, 0.0, float(max_value))
    if negative_slope != 0.0:
        x = ops.subtract(x, ops.multiply(negative_part, negative_slope))
    return x


def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: `x` if `x > 0`, else `negative_slope * x`."""
    return ops.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`."""
    return ops.relu6(x)


def _axis_softmax(x, axis, log):
    x = C.to_float(x)
    if isinstance(axis, (tuple, list)):
        shifted = ops.subtract(x, ops.stop_gradient(ops.max(x, axis=axis, keepdims=True)))
        out = ops.subtract(shifted, ops.logsumexp(shifted, axis=axis, keepdims=True))
        return out if log else ops.exp(out)
    return ops.log_softmax(x, axis=axis) if log else ops.softmax(x, axis=axis)


def softmax(x, axis=-1):
    """Softmax: `exp(x) / sum(exp(x))` along `axis`, a probability distribution.

    Args:
        x: input tensor (the logits).
        axis: int (or tuple of ints), the axis the probabilities sum to 1 over.
    """
    return _axis_softmax(x, axis, log=False)


def log_softmax(x, axis=-1):
    """Log-softmax: `x - log(sum(exp(x)))` along `axis`, computed stably.

    Args:
        x: input tensor (the logits).
        axis: int (or tuple of ints), the axis to normalize over.
    """
    return _axis_softmax(x, axis, log=True)


def elu(x, alpha=1.0):
    """Exponential linear unit: `x` if `x > 0`, else `alpha * (exp(x) - 1)`."""
    return ops.elu(x, alpha=alpha)


def selu(x):
    """Scaled exponential linear unit: `scale * elu(x, alpha)` with `alpha = 1.67326324` and
    `scale = 1.05070098` (use with the `"lecun_normal"` initializer).

    Reference: [Klambauer et al., 2017](https://arxiv.org/abs/1706.02515)
    """
    return ops.selu(x)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `x` if `x >= 0`, else `alpha * (exp(x / alpha) - 1)`."""
    x = C.to_float(x)
    return ops.add(ops.maximum(x, 0.0), ops.multiply(ops.expm1(ops.divide(ops.minimum(x, 0.0), alpha)), alpha))


def softplus(x):
    """Softplus: `log(exp(x) + 1)`, computed stably."""
    return ops.softplus(x)


def softsign(x):
    """Softsign: `x / (abs(x) + 1)`."""
    return ops.softsign(x)


def squareplus(x, b=4):
    """Squareplus: `(x + sqrt(x**2 + b)) / 2`, a smooth ReLU.

    Args:
        x: input tensor.
        b: smoothness, a non-negative scalar.
    """
    x = C.to_float(x)
    return ops.divide(ops.add(x, ops.sqrt(ops.add(ops.square(x), float(b)))), 2.0)


def soft_shrink(x, threshold=0.5):
    """Soft shrink: `x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0."""
    x = C.to_float(x)
    return ops.where(ops.greater(x, threshold), ops.subtract(x, threshold),
                     ops.where(ops.less(x, -threshold), ops.add(x, threshold), 0.0))


def hard_shrink(x, threshold=0.5):
    """Hard shrink: `x` where `abs(x) > threshold`, else 0."""
    x = C.to_float(x)
    return ops.where(ops.greater(ops.abs(x), threshold), x, 0.0)


def sparse_plus(x):
    """SparsePlus: 0 for `x <= -1`, `(x + 1)**2 / 4` for `-1 < x < 1`, `x` for `x >= 1`."""
    x = C.to_float(x)
    middle = ops.multiply(ops.square(ops.add(ops.clip(x, -1.0, 1.0), 1.0)), 0.25)
    return ops.where(ops.less_equal(x, -1.0), 0.0, ops.where(ops.less(x, 1.0), middle, x))


def silu(x):
    """Sigmoid linear unit, also called Swish: `x * sigmoid(x)`.

    Reference: [Ramachandran et al., 2017](https://arxiv.org/abs/1710.05941)
    """
    return ops.silu(x)


swish = silu


def gelu(x, approximate=False):
    """Gaussian error linear unit: `x * P(X <= x)` with `X ~ N(0, 1)`.

    Note the default: `keras.activations.gelu` computes the exact (erf) form by default, while
    `keras.ops.gelu` (and `lk.ops.gelu`) default to the tanh approximation.

    Args:
        x: input tensor.
        approximate: whether to use the tanh approximation
            `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))`.

    Reference: [Hendrycks et al., 2016](https://arxiv.org/abs/1606.08415)
    """
    return ops.gelu(x, approximate=approximate)


def glu(x, axis=-1):
    """Gated linear unit: `a * sigmoid(b)`, where `x` is split into halves `a` and `b` along `axis`.

    Args:
        x: input tensor; its size along `axis` must be even.
        axis: the axis to split.
    """
    x = C.to_float(x)
    if x.ndim == 0 or x.shape[axis] is None or x.shape[axis] % 2:
        raise ValueError(f"glu: the size of `axis` must be divisible by 2, received x.shape="
                         f"{C.shape_str(x.shape)} with axis={axis}.")
    a, b = ops.split(x, 2, axis=axis)
    return ops.multiply(a, ops.sigmoid(b))


def tanh(x):
    """Hyperbolic tangent: `(exp(x) - exp(-x)) / (exp(x) + exp(-x))`."""
    return ops.tanh(x)


def tanh_shrink(x):
    """Tanh shrink: `x - tanh(x)`."""
    x = C.to_float(x)
    return ops.subtract(x, ops.tanh(x))


def hard_tanh(x):
    """Hard tanh: `clip(x, -1, 1)`."""
    return ops.clip(C.to_float(x), -1.0, 1.0)


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`.

    Args:
        x: input tensor.
        threshold: the value above which `x` is kept.
        default_value: the value taken where `x <= threshold`.
    """
    x = C.to_float(x)
    return ops.where(ops.greater(x, threshold), x, float(default_value))


def sigmoid(x):
    """Sigmoid: `1 / (1 + exp(-x))`, in (0, 1)."""
    return ops.sigmoid(x)


def sparse_sigmoid(x):
    """Sparse sigmoid: 0 for `x <= -1`, `(x + 1) / 2` for `-1 < x < 1`, 1 for `x >= 1`."""
    x = C.to_float(x)
    return ops.multiply(ops.add(ops.clip(x, -1.0, 1.0), 1.0), 0.5)


def exponential(x):
    """Exponential: `exp(x)`."""
    return ops.exp(C.to_float(x))


def hard_sigmoid(x):
    """Hard sigmoid, a piecewise-linear sigmoid: 0 for `x <= -3`, 1 for `x >= 3`, `x / 6 + 0.5`
    in between."""
    return ops.hard_sigmoid(x)


def log_sigmoid(x):
    """Log of the sigmoid: `-softplus(-x)`, computed stably."""
    return ops.log_sigmoid(x)


def hard_silu(x):
    """Hard SiLU, also called hard Swish: `x * hard_sigmoid(x)`.

    Reference: [Howard et al., 2019](https://arxiv.org/abs/1905.02244)
    """
    return ops.hard_silu(x)


hard_swish = hard_silu


def linear(x):
    """Linear (identity) activation: returns `x` unchanged."""
    return x


def mish(x):
    """Mish: `x * tanh(softplus(x))`.

    Reference: [Misra, 2019](https://arxiv.org/abs/1908.08681)
    """
    x = C.to_float(x)
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of `x` onto the probability simplex along `axis`.

    `sparsemax(x)_i = max(x_i - tau, 0)`, with `tau` chosen so the outputs sum to 1; unlike
    softmax, many outputs are exactly 0.

    The support is found without sorting: element `i` is in it when
    `1 + k_i * x_i > sum_{j: x_j >= x_i} x_j`, with `k_i = #{j: x_j >= x_i}`. This takes
    `O(n**2)` memory per row of `n` elements.

    Args:
        x: input tensor.
        axis: the axis to project along.

    Reference: [Martins et al., 2016](https://arxiv.org/abs/1602.02068)
    """
    x = C.to_float(x)
    if x.ndim == 0:
        raise ValueError("sparsemax: expected a tensor of rank >= 1, received a scalar.")
    axis = C.normalize_axis("sparsemax", axis, x.ndim)
    z = ops.moveaxis(x, axis, -1)
    zi, zj = ops.expand_dims(z, -1), ops.expand_dims(z, -2)
    above = ops.stop_gradient(ops.cast(ops.greater_equal(zj, zi), z.dtype))  # [..., i, j] = z_j >= z_i
    count = ops.sum(above, axis=-1)
    partial = ops.sum(ops.multiply(above, zj), axis=-1)
    support = ops.stop_gradient(ops.cast(ops.greater(ops.add(ops.multiply(count, z), 1.0), partial), z.dtype))
    size = ops.sum(support, axis=-1, keepdims=True)
    tau = ops.divide(ops.subtract(ops.sum(ops.multiply(support, z), axis=-1, keepdims=True), 1.0), size)
    out = ops.maximum(ops.subtract(z, tau), 0.0)
    return ops.moveaxis(out, -1, axis)
