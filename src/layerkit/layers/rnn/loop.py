"""rnn_loop: runs a pure step function over the time axis of a sequence.

This is the one place that iterates over time. It is a scan — a carry (the states and the
previous output) threaded through `step(inputs_t, states) -> (output_t, new_states)`: eagerly a
Python loop, and inside a traced function one `scan` loop node, whose step is traced once
whatever the number of time steps (`unroll=True` unrolls it into the graph instead).
"""
from layerkit import ops
from layerkit.ops.primitive import is_tracing


def _broadcast_mask(mask_t, like):
    """(batch,) boolean mask -> (batch, 1, ...) to select whole rows of `like`."""
    return ops.reshape(mask_t, (-1,) + (1,) * (len(like.shape) - 1))


def rnn_loop(step, inputs, initial_states, mask=None, go_backwards=False, zero_output_for_mask=False,
             return_all_outputs=True, unroll=True, output_size=None):
    """Iterates `step` over axis 1 (time) of `inputs`.

    Args:
        step: `step(inputs_t, states) -> (output_t, new_states)`, states a list of tensors.
        inputs: (batch, time, ...).
        initial_states: list of tensors, each (batch, ...).
        mask: optional boolean (batch, time): at a False step every state keeps its previous
            value and the output repeats the previous one (zeros with `zero_output_for_mask`).
            The "previous output" before the first step is the first state when it has the
            output's shape (the h of SimpleRNN/LSTM/GRU, as Keras's JAX backend does), else zeros.
        go_backwards: process the time steps last to first.
        zero_output_for_mask: see `mask`.
        return_all_outputs: stack every step's output; otherwise only the last is kept.
        unroll: inside a traced function, one copy of the step per time step; False traces the
            step once into a `scan` loop node (when the time steps are known).
        output_size: the last dimension of the step's output (batch, output_size), which the
            loop node's carry needs; without it, a masked or last-output-only loop unrolls.

    Returns:
        `(last_output, outputs, final_states)`; `outputs` is (batch, time, ...) in processing
        order (reversed when `go_backwards`, as Keras returns it), or None when
        `return_all_outputs` is False.
    """
    steps = inputs.shape[1]
    if not steps:
        raise ValueError(f"rnn_loop: the input sequence has no time steps (shape {tuple(inputs.shape)}).")
    if not unroll and is_tracing():
        looped = _scan_loop(step, inputs, initial_states, mask, go_backwards, zero_output_for_mask,
                            return_all_outputs, output_size)
        if looped is not None:
            return looped
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    states = list(initial_states)
    outputs, prev_output = [], None
    for t in order:
        output, new_states = step(inputs[:, t], states)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if mask is not None:
            keep = mask[:, t]
            if zero_output_for_mask:
                prev_output = ops.zeros_like(output)
            elif prev_output is None:
                first = states[0] if states else None
                prev_output = first if first is not None and tuple(first.shape) == tuple(output.shape) \
                    else ops.zeros_like(output)
            output = ops.where(_broadcast_mask(keep, output), output, prev_output)
            new_states = [ops.where(_broadcast_mask(keep, s), s, old) for s, old in zip(new_states, states)]
        states = new_states
        prev_output = output
        if return_all_outputs:
            outputs.append(output)
    stacked = ops.stack(outputs, axis=1) if return_all_outputs else None
    return output, stacked, states


def _scan_loop(step, inputs, initial_states, mask, go_backwards, zero_output_for_mask, return_all_outputs,
               output_size):
    """rnn_loop as one `scan` node over the time-major sequence (see rnn_loop); None when the
    carry's previous output cannot be made (unknown output size or batch): then it unrolls."""
    states = list(initial_states)
    previous = None
    if mask is not None or not return_all_outputs:  # the carry holds the previous output
        if output_size is None:
            return None
        shape = (inputs.shape[0], output_size)
        first = states[0] if states else None
        if first is not None and tuple(first.shape) == shape and not zero_output_for_mask:
            previous = first
        elif inputs.shape[0] is None:
            return None
        else:
            previous = ops.zeros(shape, _float_dtype(inputs, states))
    rank = len(inputs.shape)
    xs = ops.transpose(inputs, (1, 0) + tuple(range(2, rank)))  # (time, batch, ...)
    masks = ops.transpose(mask, (1, 0)) if mask is not None else None
    if go_backwards:
        xs = xs[::-1]
        masks = masks[::-1] if masks is not None else None

    def body(carry, x):
        states, prev = carry[0], (carry[1] if previous is not None else None)
        x_t, keep = x if masks is not None else (x, None)
        output, new_states = step(x_t, list(states))
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if keep is not None:
            output = ops.where(_broadcast_mask(keep, output), output,
                               ops.zeros_like(output) if zero_output_for_mask else prev)
            new_states = [ops.where(_broadcast_mask(keep, s), s, old) for s, old in zip(new_states, states)]
        carry = [new_states, output] if previous is not None else [new_states]
        return carry, (output if return_all_outputs else None)

    init = [states, previous] if previous is not None else [states]
    final, ys = ops.scan(body, init, (xs, masks) if masks is not None else xs)
    last, stacked = (final[1] if previous is not None else ys[-1]), None
    if return_all_outputs:
        stacked = ops.transpose(ys, (1, 0) + tuple(range(2, len(ys.shape))))
    return last, stacked, list(final[0])


def _float_dtype(inputs, states):
    for t in list(states) + [inputs]:
        if t.dtype in ("float32", "float64"):
            return t.dtype
    return "float32"
