"""Lowering rules of the convolution, pooling and softmax-family primitives to native steps.

`RULES[name](attrs, ins, outs)` gives `(step, ints, floats)` for a node of primitive `name`, or
None when no native step serves it (the plan then calls the primitive's Python forward). `attrs`
are the node's attrs (the keyword arguments of the primitive's forward); `ins` and `outs` have
fully known `.shape` and `.dtype`. Padding recorded as None pairs ("same" for a size unknown at
trace time) is resolved from the concrete shapes by the forwards' own helpers, so a step always
computes what the forward would.

Integer layouts:
    conv2d, conv2d_backprop_input, conv2d_backprop_filter:
        [stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, dil_h, dil_w, groups]
    max_pool2d, max_pool2d_grad, avg_pool2d, avg_pool2d_grad:
        [pool_h, pool_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right]
    softmax, log_softmax, sparse_softmax_cross_entropy(_grad): none.
"""
from layerkit.ops.convolution import _pool_pads, _resolve_pads

_FLOATS = ("float32", "float64")
_LABELS = ("int32", "int64")


def _floats(*values):
    """All of `values` share one float dtype (anything else is left to the forward's errors)."""
    return values[0].dtype in _FLOATS and all(v.dtype == values[0].dtype for v in values)


def _rank4(*values):
    return all(len(v.shape) == 4 for v in values)


def _conv(step, x_shape, w_shape, attrs):
    """The conv steps' ints; `x_shape`/`w_shape` are the input and filter shapes the pads refer to."""
    strides, dilation = attrs["strides"], attrs["dilation"]
    pads = _resolve_pads(attrs["padding"], x_shape[1:3], w_shape[:2], strides, dilation)
    if None in pads:
        return None
    return step, [int(v) for v in (*strides, *pads, *dilation, attrs["groups"])], []


def _conv2d(attrs, ins, outs):
    x, w = ins
    if not (_floats(x, w, outs[0]) and _rank4(x, w, outs[0])):
        return None
    return _conv("conv2d", x.shape, w.shape, attrs)


def _conv2d_bias(attrs, ins, outs):
    x, w, bias = ins
    if not (_floats(x, w, bias, outs[0]) and _rank4(x, w, outs[0])):
        return None
    step = _conv("conv2d_bias", x.shape, w.shape, attrs)
    return step and (step[0], step[1] + [int(attrs["activation"])], [])


def _conv2d_backprop_input(attrs, ins, outs):
    # the result's shape is the input shape, however the forward would work it out (from the
    # attr, the extra `like` input, or conv_transpose's rule), so the extra input is not read
    g, w = ins[:2]
    if not (_floats(g, w, outs[0]) and _rank4(g, w, outs[0])):
        return None
    return _conv("conv2d_backprop_input", outs[0].shape, w.shape, attrs)


def _conv2d_backprop_filter(attrs, ins, outs):
    x, g = ins
    if not (_floats(x, g, outs[0]) and _rank4(x, g, outs[0])):
        return None
    return _conv("conv2d_backprop_filter", x.shape, outs[0].shape, attrs)


def _pool(step, x_shape, attrs):
    """The pooling steps' ints; `x_shape` is the input shape the pads refer to."""
    pool, strides = attrs["pool"], attrs["strides"]
    pads = _pool_pads(x_shape, pool, strides, attrs["padding"])
    if None in pads:
        return None
    return step, [int(v) for v in (*pool, *strides, *pads)], []


def _pool_rule(step):
    def rule(attrs, ins, outs):
        if not (_floats(ins[0], outs[0]) and _rank4(ins[0], outs[0])):
            return None
        return _pool(step, ins[0].shape, attrs)
    return rule


def _max_pool2d_grad(attrs, ins, outs):
    x, g = ins
    if not (_floats(x, g, outs[0]) and _rank4(x, g, outs[0])):
        return None
    return _pool("max_pool2d_grad", x.shape, attrs)


def _avg_pool2d_grad(attrs, ins, outs):
    # as for conv2d_backprop_input: the result's shape is the input shape
    g = ins[0]
    if not (_floats(g, outs[0]) and _rank4(g, outs[0])):
        return None
    return _pool("avg_pool2d_grad", outs[0].shape, attrs)


def _softmax_rule(step):
    def rule(attrs, ins, outs):
        x = ins[0]
        return (step, [], []) if len(x.shape) >= 1 and _floats(x, outs[0]) else None
    return rule


def _xent(attrs, ins, outs):
    logits, labels = ins
    ok = len(logits.shape) >= 1 and labels.dtype in _LABELS and _floats(logits, outs[0])
    return ("sparse_softmax_cross_entropy", [], []) if ok else None


def _xent_grad(attrs, ins, outs):
    logits, labels, g = ins
    ok = len(logits.shape) >= 1 and labels.dtype in _LABELS and _floats(logits, g, outs[0])
    return ("sparse_softmax_cross_entropy_grad", [], []) if ok else None


def _recurrence(kernel, *int_attrs):
    """The rule of a fused recurrence: float operands (the optional fifth, the mask, is bool); a
    backward step given only its last step's gradient (attr `last`, see passes.last_step_gradients)
    adds those columns."""
    def rule(attrs, ins, outs):
        ints = [int(attrs[a]) for a in int_attrs] + list(attrs.get("last", ()))
        return (kernel, ints, []) if _floats(*ins[:4], outs[0]) else None
    return rule



RULES = {
    "conv2d": _conv2d,
    "conv2d_bias": _conv2d_bias,
    "conv2d_backprop_input": _conv2d_backprop_input,
    "conv2d_backprop_filter": _conv2d_backprop_filter,
    "max_pool2d": _pool_rule("max_pool2d"),
    "max_pool2d_grad": _max_pool2d_grad,
    "avg_pool2d": _pool_rule("avg_pool2d"),
    "avg_pool2d_grad": _avg_pool2d_grad,
    "softmax": _softmax_rule("softmax"),
    "log_softmax": _softmax_rule("log_softmax"),
    "sparse_softmax_cross_entropy": _xent,
    "sparse_softmax_cross_entropy_grad": _xent_grad,
    "gru_sequence": _recurrence("gru_sequence", "reverse"),
    "gru_sequence_grad": _recurrence("gru_sequence_grad", "initial", "reverse"),
    "lstm_sequence": _recurrence("lstm_sequence", "reverse"),
    "lstm_sequence_grad": _recurrence("lstm_sequence_grad", "initial", "reverse"),
}
