"""DropoutRNNCell: the dropout masks of a recurrent cell, sampled once per sequence, plus the
argument checks and the dense projection the built-in cells share."""
from layerkit import ops
from layerkit import random as lk_random


class DropoutRNNCell:
    """Mixin of the built-in cells: creates and caches their dropout masks.

    Keras semantics: a mask is drawn the first time a step asks for it and reused by every
    following step until `reset_dropout_mask()` (the RNN layer resets after each sequence), so
    one sequence sees one mask. A cell whose gates each get their own mask sets
    `dropout_mask_count` (Keras's "implementation 1", used when `recurrent_dropout > 0`).

    A class mixing it in has `dropout`, `recurrent_dropout` and `seed_generator`.
    """

    def _create_dropout_mask(self, shape, rate, dtype):
        ones = ops.ones(shape, dtype=dtype)
        count = getattr(self, "dropout_mask_count", None)
        if count is None:
            return lk_random.dropout(ones, rate=rate, seed=self.seed_generator)
        return [lk_random.dropout(ones, rate=rate, seed=self.seed_generator) for _ in range(count)]

    def get_dropout_mask(self, step_input):
        """The (cached) mask of the step inputs, shaped like `step_input` (a (batch, features)
        tensor, or that shape); None when `dropout` is 0."""
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(_shape(step_input), self.dropout, self.dtype)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_state):
        """The (cached) mask of the previous state, shaped like `step_state` (batch, units)."""
        if getattr(self, "_recurrent_dropout_mask", None) is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._create_dropout_mask(
                _shape(step_state), self.recurrent_dropout, self.dtype)
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self):
        """Forgets the input mask: the next sequence draws a new one."""
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else tuple(x)


def check_cell_args(cell, units, dropout, recurrent_dropout):
    """Validates the arguments every built-in cell takes, naming the cell in the error."""
    who = f"{type(cell).__name__} '{cell.name}'"
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"{who}: `units` must be a positive int, received {units!r}.")
    for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"{who}: `{arg}` must be a float in [0, 1) (the fraction of units to drop), "
                             f"received {rate!r}.")


def project(x, kernel):
    """`x @ kernel` over the last axis of `x` as one matrix product, whatever the leading axes
    (a (batch, time, in) sequence is one (batch*time, in) x (in, n) GEMM)."""
    if len(x.shape) <= 2:
        return ops.matmul(x, kernel)
    lead = tuple(-1 if d is None else d for d in x.shape[:-1])  # an unknown batch size when traced
    y = ops.matmul(ops.reshape(x, (-1, x.shape[-1])), kernel)
    return ops.reshape(y, lead + (kernel.shape[-1],))


def project_gates(x, kernel, masks, num_gates):
    """`x @ kernel`, with each gate's column block seeing the input through its own dropout
    mask when `masks` is a list (one per gate), through one mask when it is a tensor, or
    unmasked when it is None. Masks are (batch, in) and broadcast over any time axis."""
    if masks is None:
        return project(x, kernel)

    def masked(m):
        for _ in range(len(x.shape) - 2):
            m = ops.expand_dims(m, 1)  # the same mask at every time step
        return x * m

    if not isinstance(masks, (list, tuple)):
        return project(masked(masks), kernel)
    blocks = [project(masked(m), k) for m, k in zip(masks, column_blocks(kernel, num_gates))]
    return ops.concatenate(blocks, axis=-1)


def column_blocks(w, num_blocks):
    """The `num_blocks` equal column blocks of a (rows, num_blocks * units) matrix (gate order)."""
    units = w.shape[-1] // num_blocks
    return [w[..., g * units:(g + 1) * units] for g in range(num_blocks)]
