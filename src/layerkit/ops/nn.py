"""Neural-network ops: activations, softmax, log-softmax, one-hot and the fused sparse softmax
cross-entropy. Activations are composites of elementwise primitives (the graph compiler fuses
them); softmax and the cross-entropy are primitives with one-pass kernels."""
import math

from layerkit.backend import core
from layerkit.ops import core as C
from layerkit.ops import elementwise as E
from layerkit.ops import reduction as R
from layerkit.ops import layout as S
from layerkit.ops.elementwise import relu, sigmoid, tanh  # noqa: F401  (primitives, re-exported)
from layerkit.ops.primitive import apply, register


def relu6(x):
    return E.clip(x, 0.0, 6.0)


def leaky_relu(x, negative_slope=0.2):
    x = C.to_float(x)
    return E.where(E.greater(x, 0), x, E.multiply(x, negative_slope))


def elu(x, alpha=1.0):
    x = C.to_float(x)
    # expm1 only of the negative part: the unselected branch must not overflow into NaN gradients
    return E.where(E.greater(x, 0), x, E.multiply(E.expm1(E.minimum(x, 0.0)), alpha))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    return E.multiply(elu(x, _SELU_ALPHA), _SELU_SCALE)


def gelu(x, approximate=True):
    """Gaussian error linear unit; `approximate=True` (Keras's default) uses the tanh form."""
    x = C.to_float(x)
    if approximate:
        inner = E.multiply(E.add(x, E.multiply(E.multiply(x, E.square(x)), 0.044715)), math.sqrt(2 / math.pi))
        return E.multiply(E.multiply(x, 0.5), E.add(E.tanh(inner), 1.0))
    return E.multiply(E.multiply(x, 0.5), E.add(E.erf(E.multiply(x, 1 / math.sqrt(2))), 1.0))


def hard_sigmoid(x):
    return E.divide(relu6(E.add(x, 3.0)), 6.0)


def hard_silu(x):
    x = C.to_float(x)
    return E.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def softplus(x):
    """log(1 + exp(x)), stable for large |x|."""
    x = C.to_float(x)
    return E.add(E.maximum(x, 0.0), E.log1p(E.exp(E.negative(E.abs(x)))))


def softsign(x):
    x = C.to_float(x)
    return E.divide(x, E.add(E.abs(x), 1.0))


def silu(x):
    x = C.to_float(x)
    return E.multiply(x, E.sigmoid(x))


swish = silu


def log_sigmoid(x):
    return E.negative(softplus(E.negative(x)))


# ---- softmax family (primitives over the last axis) ----------------------------------------------


def _rows(kernel):
    def forward(x):
        return kernel(x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x).reshape(x.shape)
    return forward


def _softmax_grad(ctx, g):
    y = ctx.output
    return (E.multiply(y, E.subtract(g, R.sum(E.multiply(g, y), axis=-1, keepdims=True))),)


def _log_softmax_grad(ctx, g):
    return (E.subtract(g, E.multiply(E.exp(ctx.output), R.sum(g, axis=-1, keepdims=True))),)


SOFTMAX = register("softmax", forward=_rows(core.softmax), infer=C.same_spec, grad=_softmax_grad,
                   kernels=("softmax",))
LOG_SOFTMAX = register("log_softmax", forward=_rows(core.log_softmax), infer=C.same_spec, grad=_log_softmax_grad,
                       kernels=("log_softmax",))


def _last_axis_op(op, x, axis):
    x = C.to_float(x)
    if x.ndim == 0:
        raise ValueError(f"{op.name}: expected a tensor of rank >= 1, received a scalar.")
    axis = C.normalize_axis(op.name, axis, x.ndim)
    if axis == x.ndim - 1:
        return apply(op, x)
    return S.moveaxis(apply(op, S.moveaxis(x, axis, -1)), -1, axis)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`, computed stably in one pass per row."""
    return _last_axis_op(SOFTMAX, x, axis)


def log_softmax(x, axis=-1):
    return _last_axis_op(LOG_SOFTMAX, x, axis)


def one_hot(x, num_classes, axis=-1, dtype=None):
    """A one-hot encoding of integer tensor `x` with `num_classes` classes (floatx by default);
    out-of-range entries give all-zero rows, as in Keras."""
    x = C.convert_to_tensor(x)
    hot = E.equal(S.expand_dims(x, -1), C.arange(num_classes, dtype=x.dtype))
    out = C.cast(hot, dtype)
    return out if axis in (-1, out.ndim - 1) else S.moveaxis(out, -1, axis)


# ---- sparse softmax cross-entropy (fused) ------------------------------------------------------------


def _xent_spec(logits, labels):
    return logits.shape[:-1], logits.dtype


def _xent_forward(logits, labels):
    n = logits.shape[-1]
    return core.sparse_softmax_cross_entropy(logits.reshape(-1, n), labels.reshape(-1)).reshape(logits.shape[:-1])


def _xent_grad_forward(logits, labels, g):
    n = logits.shape[-1]
    return core.sparse_softmax_cross_entropy_grad(logits.reshape(-1, n), labels.reshape(-1),
                                                  g.reshape(-1)).reshape(logits.shape)


SPARSE_XENT = register(
    "sparse_softmax_cross_entropy", forward=_xent_forward, infer=_xent_spec,
    grad=lambda ctx, g: (apply(SPARSE_XENT_GRAD, ctx.inputs[0], ctx.inputs[1], g), None),
    kernels=("sparse_softmax_cross_entropy",))
# Its own primitive so the backward is one pass (softmax minus one-hot, scaled), not five ops.
SPARSE_XENT_GRAD = register(
    "sparse_softmax_cross_entropy_grad", forward=_xent_grad_forward,
    infer=lambda logits, labels, g: (logits.shape, logits.dtype), kernels=("sparse_softmax_cross_entropy_grad",))


def sparse_softmax_cross_entropy(labels, logits):
    """Per-example -log softmax(logits)[label]: fused, stable, one pass forward and backward.

    Args:
        labels: integer class indices of shape `logits.shape[:-1]`.
        logits: unnormalized scores, classes on the last axis.
    """
    logits = C.to_float(logits)
    labels = C.convert_to_tensor(labels)
    if labels.dtype not in ("int32", "int64"):
        raise TypeError(f"sparse_softmax_cross_entropy: `labels` must be integer class indices, "
                        f"received dtype {labels.dtype}.")
    if tuple(labels.shape) != tuple(logits.shape[:-1]):
        raise ValueError(f"sparse_softmax_cross_entropy: `labels` must have shape {C.shape_str(logits.shape[:-1])} "
                         f"(the logits' shape without the class axis), received {C.shape_str(labels.shape)}.")
    return apply(SPARSE_XENT, logits, labels)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Keras's `ops.sparse_categorical_crossentropy`: integer targets against probabilities (or
    logits when `from_logits=True`, which uses the fused kernel)."""
    output = C.to_float(output)
    if axis not in (-1, output.ndim - 1):
        output = S.moveaxis(output, axis, -1)
    target = C.convert_to_tensor(target)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = S.squeeze(target, -1)
    target = C.cast(target, "int32") if target.dtype not in ("int32", "int64") else target
    if from_logits:
        return sparse_softmax_cross_entropy(target, output)
    eps = 1e-7
    logp = E.log(E.clip(E.divide(output, R.sum(output, axis=-1, keepdims=True)), eps, 1 - eps))
    return E.negative(S.squeeze(S.take_along_axis(logp, S.expand_dims(target, -1), axis=-1), -1))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    target, output = C.to_float(target), C.to_float(output)
    if from_logits:
        return E.negative(R.sum(E.multiply(target, log_softmax(output, axis)), axis=axis))
    output = E.divide(output, R.sum(output, axis=axis, keepdims=True))
    return E.negative(R.sum(E.multiply(target, E.log(E.clip(output, 1e-7, 1 - 1e-7))), axis=axis))


def binary_crossentropy(target, output, from_logits=False):
    target, output = C.to_float(target), C.to_float(output)
    if from_logits:
        # max(x, 0) - x*z + log(1 + exp(-|x|)), stable for any logit
        return E.add(E.subtract(E.maximum(output, 0.0), E.multiply(output, target)),
                     E.log1p(E.exp(E.negative(E.abs(output)))))
    output = E.clip(output, 1e-7, 1 - 1e-7)
    return E.negative(E.add(E.multiply(target, E.log(output)),
                            E.multiply(E.subtract(1.0, target), E.log(E.subtract(1.0, output)))))


