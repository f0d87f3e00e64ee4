"""Masks and the masked softmax shared by the attention layers.

Masks are boolean: True attends, False is masked. Masked logits are replaced by a large negative
number before the softmax (Keras's -1e9), so they get (numerically) zero probability.
"""
from layerkit import ops

LARGE_NEGATIVE = -1e9


def causal_mask(query_length, key_length):
    """(1, T, S) boolean mask, True where key position j <= query position i (lower triangle,
    aligned at the top-left as in Keras). None when a length is unknown: that happens only on
    symbolic tensors, where the mask cannot change any shape."""
    if query_length is None or key_length is None:
        return None
    rows = ops.expand_dims(ops.arange(query_length, dtype="int32"), 1)
    cols = ops.expand_dims(ops.arange(key_length, dtype="int32"), 0)
    return ops.expand_dims(ops.greater_equal(rows, cols), 0)


def sliding_window_mask(query_length, key_length, window):
    """(1, T, S) boolean band mask, True where |i - j| < window (None for unknown lengths)."""
    if query_length is None or key_length is None:
        return None
    rows = ops.expand_dims(ops.arange(query_length, dtype="int32"), 1)
    cols = ops.expand_dims(ops.arange(key_length, dtype="int32"), 0)
    return ops.expand_dims(ops.less(ops.abs(ops.subtract(rows, cols)), window), 0)


def combine(*masks):
    """The logical AND of the masks that are not None (None when all are)."""
    out = None
    for m in masks:
        if m is None:
            continue
        m = m if m.dtype == "bool" else ops.cast(m, "bool")
        out = m if out is None else ops.logical_and(out, m)
    return out


def masked_softmax(logits, mask=None, axes=(-1,)):
    """Softmax over `axes` (the trailing axes of `logits`) with masked entries excluded.

    Rows whose entries are all masked give zeros, not a uniform distribution (as Keras's Softmax
    layer with a mask).
    """
    if mask is not None:
        logits = ops.where(mask, logits, LARGE_NEGATIVE)
    if len(axes) == 1:
        probs = ops.softmax(logits, axis=axes[0])
    else:
        probs = ops.exp(ops.subtract(logits, ops.logsumexp(logits, axis=tuple(axes), keepdims=True)))
    if mask is not None:
        probs = ops.where(mask, probs, 0.0)
    return probs
