"""NumPy references for the recurrent tests: the three cells, one step each, and a sequence
runner (masks, go_backwards, initial states), written from the equations, not from layerkit."""
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def simple_rnn_step(x, states, kernel, recurrent_kernel, bias=None, activation=np.tanh):
    h = x @ kernel + states[0] @ recurrent_kernel
    if bias is not None:
        h = h + bias
    h = activation(h)
    return h, [h]


def lstm_step(x, states, kernel, recurrent_kernel, bias=None, activation=np.tanh, recurrent_activation=sigmoid):
    h, c = states
    z = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        z = z + bias
    return lstm_gates(z, c, activation, recurrent_activation)


def lstm_gates(z, c, activation=np.tanh, recurrent_activation=sigmoid):
    """The LSTM update from the pre-activations z = [i f c o] and the previous carry."""
    u = c.shape[-1]
    i = recurrent_activation(z[:, :u])
    f = recurrent_activation(z[:, u:2 * u])
    g = activation(z[:, 2 * u:3 * u])
    o = recurrent_activation(z[:, 3 * u:])
    c = f * c + i * g
    h = o * activation(c)
    return h, [h, c]


def gru_step(x, states, kernel, recurrent_kernel, bias=None, reset_after=True, activation=np.tanh,
             recurrent_activation=sigmoid):
    h = states[0]
    u = h.shape[-1]
    if bias is None:
        b_in, b_rec = np.zeros(3 * u), np.zeros(3 * u)
    elif reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros(3 * u)
    W = [kernel[:, k * u:(k + 1) * u] for k in range(3)]
    U = [recurrent_kernel[:, k * u:(k + 1) * u] for k in range(3)]
    bi = [b_in[k * u:(k + 1) * u] for k in range(3)]
    br = [b_rec[k * u:(k + 1) * u] for k in range(3)]
    z = recurrent_activation(x @ W[0] + bi[0] + h @ U[0] + br[0])
    r = recurrent_activation(x @ W[1] + bi[1] + h @ U[1] + br[1])
    if reset_after:
        hh = activation(x @ W[2] + bi[2] + r * (h @ U[2] + br[2]))
    else:
        hh = activation(x @ W[2] + bi[2] + (r * h) @ U[2])
    h = z * h + (1 - z) * hh
    return h, [h]


def run_sequence(step, x, initial_states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """Applies `step(x_t, states) -> (out, states)` over axis 1 of `x`. Masked steps (mask False)
    keep the states; their output is the previous output (zeros with zero_output_for_mask).
    Returns (outputs (batch, time, units) in processing order, last output, final states)."""
    states = [np.asarray(s, np.float64) for s in initial_states]
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    outputs, prev = [], states[0]
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t][:, None]
            out = np.where(keep, out, 0.0 if zero_output_for_mask else prev)
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        states, prev = new, out
        outputs.append(out)
    return np.stack(outputs, axis=1), outputs[-1], states


def weights_of(layer):
    """The layer's weights as float64 arrays: kernel, recurrent_kernel[, bias]."""
    return [np.asarray(w, np.float64) for w in layer.get_weights()]
