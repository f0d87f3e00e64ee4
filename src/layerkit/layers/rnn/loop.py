"""rnn_loop: runs a pure step function over the time axis of a sequence.

This is the one place that iterates over time. It is written as a scan — a carry (the states
and the previous output) threaded through `step(inputs_t, states) -> (output_t, new_states)` —
so it can be replaced by a `scan`/`while_loop` op when graph mode gets one; nothing in the step
depends on Python state.
"""
from layerkit import ops


def _broadcast_mask(mask_t, like):
    """(batch,) boolean mask -> (batch, 1, ...) to select whole rows of `like`."""
    return ops.reshape(mask_t, (-1,) + (1,) * (len(like.shape) - 1))


def rnn_loop(step, inputs, initial_states, mask=None, go_backwards=False, zero_output_for_mask=False,
             return_all_outputs=True):
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

    Returns:
        `(last_output, outputs, final_states)`; `outputs` is (batch, time, ...) in processing
        order (reversed when `go_backwards`, as Keras returns it), or None when
        `return_all_outputs` is False.
    """
    steps = inputs.shape[1]
    if not steps:
        raise ValueError(f"rnn_loop: the input sequence has no time steps (shape {tuple(inputs.shape)}).")
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
