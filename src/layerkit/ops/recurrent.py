"""The fused LSTM and GRU recurrences: `lstm_sequence` and `gru_sequence`, the default paths of
`lk.layers.LSTM` and `lk.layers.GRU` (as cuDNN is Keras's on a GPU; csrc/recurrent.cpp).

One primitive runs every step of the recurrence: per step one GEMM `h @ r` and one pass over the
gates and the cell, with no graph node per step. An optional boolean mask (batch, time) keeps a
row's states through its masked steps, as Keras's masked RNNs do (`Embedding(mask_zero=True)`). Its gradient is a second primitive that walks
the steps backwards and returns each step's gate pre-activation gradients (and those of the
initial states when they are needed); the recurrent kernel's gradient is then one large GEMM
over all steps instead of one small product per step.
"""
import numpy as np

from layerkit.backend import core
from layerkit.ops import core as C
from layerkit.ops import layout as S
from layerkit.ops import reduction as R
from layerkit.ops.linalg import matmul_raw
from layerkit.ops.primitive import apply, register


def _recurrent_kernel_grad(h0, out, units, dq):
    """The sum over steps of h_{s-1}^T dq_s as one product over every (batch, step) row: `dq` holds
    the per-step gradients of the recurrent product h_{s-1} @ r, batch-major (batch * steps, ...);
    h_{s-1} is h0, then the h columns (the first `units`) of the time-major output's previous step."""
    steps = out.shape[0]
    h_prev = S.concatenate([S.expand_dims(h0, 0), S.getitem(out, (slice(0, steps - 1), slice(None),
                                                                  slice(0, units)))], axis=0)
    h_prev = S.transpose(h_prev, (1, 0, 2))  # (batch, steps, units), the rows of dq
    return matmul_raw(S.reshape(h_prev, (-1, units)), dq, True, False)


def _check_mask(op, mask, xs):
    """The optional mask of a fused recurrence: boolean (batch, time), like its inputs `xs`."""
    if not mask:
        return
    mask = mask[0]
    if mask.dtype != "bool" or tuple(mask.shape) != tuple(xs.shape[:2]):
        raise ValueError(f"{op}: expected a bool mask of shape (batch, time) = {C.shape_str(xs.shape[:2])}, received "
                         f"{mask.dtype} {C.shape_str(mask.shape)}.")


def _lstm_spec(zx, h0, c0, r, *mask, reverse):
    _check_mask("lstm_sequence", mask, zx)
    units = r.shape[0]
    if len(zx.shape) != 3 or len(r.shape) != 2 or r.shape[1] != 4 * units or zx.shape[2] != 4 * units:
        raise ValueError(f"lstm_sequence: expected zx (batch, time, 4 * units) and r (units, 4 * units), received "
                         f"{C.shape_str(zx.shape)} and {C.shape_str(r.shape)}.")
    for name, s in (("h0", h0), ("c0", c0)):
        if tuple(s.shape) != (zx.shape[0], units):
            raise ValueError(f"lstm_sequence: expected {name} of shape (batch, units) = "
                             f"{C.shape_str((zx.shape[0], units))}, received {C.shape_str(s.shape)}.")
    return (zx.shape[1], zx.shape[0], 6 * units), zx.dtype


def _lstm_grad(ctx, g):
    zx, h0, c0, r, *mask = ctx.inputs
    out, units, steps, reverse = ctx.output, r.shape[0], zx.shape[1], ctx.attrs["reverse"]
    initial = ctx.needs(1) or ctx.needs(2)  # dh0 and dc0 come as one more row per batch
    dz_all = apply(LSTM_SEQUENCE_GRAD, g, out, c0, r, *mask, initial=initial, reverse=reverse)  # (B, T [+ 1], 4U)
    dz = S.getitem(dz_all, (slice(None), slice(0, steps))) if initial else dz_all  # processing order
    dzx = dh0 = dc0 = dr = None
    if ctx.needs(0):
        dzx = S.getitem(dz, (slice(None), slice(None, None, -1))) if reverse else dz
    if ctx.needs(1):
        dh0 = S.getitem(dz_all, (slice(None), steps, slice(units, 2 * units)))
    if ctx.needs(2):
        dc0 = S.getitem(dz_all, (slice(None), steps, slice(0, units)))
    if ctx.needs(3):
        dr = _recurrent_kernel_grad(h0, out, units, S.reshape(dz, (-1, 4 * units)))
    return (dzx, dh0, dc0, dr) + (None,) * len(mask)


def _whole_gradient(g, out, last):
    """The gradient of the whole packed output from that of its last step's columns `last`
    (passes.last_step_gradients hands the backward step only those; this is the Python plan's
    way, the native step reads them as they are)."""
    if last is None:
        return g
    full = np.zeros(out.shape, out.dtype)
    core.assign(full[-1, :, last[0]:last[1]], g)
    return full


def _second_derivative(layer):
    def refuse(ctx, g):
        raise ValueError(f"{ctx.op.name}: second derivatives of the fused {layer} are not implemented. Build the "
                         "layer with use_cudnn=False to run the step loop, which differentiates any number of times.")
    return refuse


LSTM_SEQUENCE = register("lstm_sequence",
                         forward=lambda zx, h0, c0, r, *mask, reverse: core.lstm_sequence(zx, h0, c0, r, reverse, *mask),
                         infer=_lstm_spec, grad=_lstm_grad, kernels=("lstm_sequence",))
LSTM_SEQUENCE_GRAD = register(
    "lstm_sequence_grad",
    forward=lambda g, out, c0, r, *mask, initial, reverse, last=None: core.lstm_sequence_grad(
        _whole_gradient(g, out, last), out, c0, r, initial, reverse, *mask),
    infer=lambda g, out, c0, r, *mask, initial, reverse, last=None: (
        (out.shape[1], None if out.shape[0] is None else out.shape[0] + initial, out.shape[2] // 6 * 4), out.dtype),
    grad=_second_derivative("LSTM"), kernels=("lstm_sequence_grad",))


def lstm_sequence(zx, h0, c0, recurrent_kernel, reverse=False, mask=None):
    """Every step of an LSTM with sigmoid gates and tanh activations (Keras's gate order i, f, c, o).

    Args:
        zx: (batch, time, 4 * units), the input projections `x_t @ kernel + bias` of every step.
        h0, c0: (batch, units), the initial states.
        recurrent_kernel: (units, 4 * units).
        reverse: process the steps last to first (`go_backwards`).
        mask: optional bool (batch, time), in input order: at a False step the row keeps its h
            and c (and the output's h and c columns repeat the previous step's).

    Returns:
        (time, batch, 6 * units), time-major: per processed step (in processing order) h, c, then
        the gate activations i, f, g, o the backward pass reuses. Those last 4 * units columns are
        saved activations: differentiation treats them as constants.
    """
    zx, h0, c0, r = (C.convert_to_tensor(t) for t in (zx, h0, c0, recurrent_kernel))
    masks = () if mask is None else (C.convert_to_tensor(mask),)
    return apply(LSTM_SEQUENCE, zx, h0, c0, r, *masks, reverse=bool(reverse))


def _gru_spec(xp, h0, r, rb, *mask, reverse):
    _check_mask("gru_sequence", mask, xp)
    units = r.shape[0]
    if (len(xp.shape) != 3 or len(r.shape) != 2 or r.shape[1] != 3 * units or xp.shape[2] != 3 * units
            or tuple(rb.shape) != (3 * units,)):
        raise ValueError(f"gru_sequence: expected xp (batch, time, 3 * units), r (units, 3 * units) and rb "
                         f"(3 * units,), received {C.shape_str(xp.shape)}, {C.shape_str(r.shape)} and "
                         f"{C.shape_str(rb.shape)}.")
    if tuple(h0.shape) != (xp.shape[0], units):
        raise ValueError(f"gru_sequence: expected h0 of shape (batch, units) = {C.shape_str((xp.shape[0], units))}, "
                         f"received {C.shape_str(h0.shape)}.")
    return (xp.shape[1], xp.shape[0], 5 * units), xp.dtype


def _gru_grad(ctx, g):
    xp, h0, r, rb, *mask = ctx.inputs
    out, units, steps, reverse = ctx.output, r.shape[0], xp.shape[1], ctx.attrs["reverse"]
    initial = ctx.needs(1)
    dz_all = apply(GRU_SEQUENCE_GRAD, g, out, h0, r, *mask, initial=initial, reverse=reverse)  # (B, T [+ 1], 6U)
    dxp = dh0 = dr = drb = None
    if ctx.needs(0):
        dxp = S.getitem(dz_all, (slice(None), slice(0, steps), slice(0, 3 * units)))  # processing order
        if reverse:
            dxp = S.getitem(dxp, (slice(None), slice(None, None, -1)))
    if initial:
        dh0 = S.getitem(dz_all, (slice(None), steps, slice(0, units)))
    if ctx.needs(2) or ctx.needs(3):
        dq = S.reshape(S.getitem(dz_all, (slice(None), slice(0, steps), slice(3 * units, 6 * units))), (-1, 3 * units))
        if ctx.needs(2):
            dr = _recurrent_kernel_grad(h0, out, units, dq)
        if ctx.needs(3):
            drb = R.sum(dq, axis=0)
    return (dxp, dh0, dr, drb) + (None,) * len(mask)


GRU_SEQUENCE = register("gru_sequence",
                        forward=lambda xp, h0, r, rb, *mask, reverse: core.gru_sequence(xp, h0, r, rb, reverse, *mask),
                        infer=_gru_spec, grad=_gru_grad, kernels=("gru_sequence",))
GRU_SEQUENCE_GRAD = register(
    "gru_sequence_grad",
    forward=lambda g, out, h0, r, *mask, initial, reverse, last=None: core.gru_sequence_grad(
        _whole_gradient(g, out, last), out, h0, r, initial, reverse, *mask),
    infer=lambda g, out, h0, r, *mask, initial, reverse, last=None: (
        (out.shape[1], None if out.shape[0] is None else out.shape[0] + initial, out.shape[2] // 5 * 6), out.dtype),
    grad=_second_derivative("GRU"), kernels=("gru_sequence_grad",))


def gru_sequence(xp, h0, recurrent_kernel, recurrent_bias, reverse=False, mask=None):
    """Every step of a GRU with sigmoid gates, a tanh candidate and the reset gate applied after
    the recurrent product (`reset_after=True`, Keras's default; gate order z, r, h).

    Args:
        xp: (batch, time, 3 * units), the input projections `x_t @ kernel + input_bias`.
        h0: (batch, units), the initial state.
        recurrent_kernel: (units, 3 * units).
        recurrent_bias: (3 * units,), added to the recurrent product (zeros without a bias).
        reverse: process the steps last to first (`go_backwards`).
        mask: optional bool (batch, time), in input order: at a False step the row keeps its h.

    Returns:
        (time, batch, 5 * units), time-major: per processed step h, then the activations z, r,
        the candidate and the candidate's recurrent part that the backward pass reuses. Those
        last 4 * units columns are saved activations: differentiation treats them as constants.
    """
    xp, h0, r, rb = (C.convert_to_tensor(t) for t in (xp, h0, recurrent_kernel, recurrent_bias))
    masks = () if mask is None else (C.convert_to_tensor(mask),)
    return apply(GRU_SEQUENCE, xp, h0, r, rb, *masks, reverse=bool(reverse))
