import re

import numpy as np
import pytest
from rnn_reference import lstm_step, run_sequence, simple_rnn_step, weights_of

import layerkit as lk
from layerkit.testing import run_layer_test

RNG = np.random.default_rng(23)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 1, 0]], bool)


class MinimalRNNCell(lk.layers.Layer):
    """The user cell of Keras's RNN docs, plus a second state (a running sum of the outputs) of
    another size, and no get_initial_state (RNN makes zeros)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units + 1]

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        out = lk.ops.tanh(lk.ops.matmul(inputs, self.kernel) + lk.ops.matmul(states[0], self.recurrent_kernel))
        total = states[1] + lk.ops.pad(out, [(0, 0), (0, 1)], constant_values=1.0)
        return out, [out, total]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class MinimalRNN(lk.layers.RNN):
    """RNN(MinimalRNNCell(units)) from plain arguments, for run_layer_test's float64 rebuild."""

    def __init__(self, units, **kwargs):
        super().__init__(MinimalRNNCell(units, dtype=kwargs.get("dtype")), **kwargs)
        self.units = units

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        return {**config, "units": self.units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _minimal_reference(layer, x, mask=None, go_backwards=False):
    k, rk = weights_of(layer)

    def step(x_t, states):
        out = np.tanh(x_t @ k + states[0] @ rk)
        return out, [out, states[1] + np.pad(out, [(0, 0), (0, 1)], constant_values=1.0)]
    u = layer.units
    return run_sequence(step, x.astype(np.float64), [np.zeros((x.shape[0], u)), np.zeros((x.shape[0], u + 1))],
                        mask=mask, go_backwards=go_backwards)


def test_run_layer_test_with_a_user_cell():
    run_layer_test(MinimalRNN, init_kwargs={"units": 3, "return_sequences": True, "return_state": True},
                   input_shape=(2, 4, 3), expected_output_shape=[(2, 4, 3), (2, 3), (2, 4)],
                   expected_num_trainable_weights=2, supports_masking=True)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_user_cell_matches_numpy(go_backwards):
    layer = MinimalRNN(3, return_sequences=True, return_state=True, go_backwards=go_backwards)
    seq, h, total = layer(X, mask=MASK)
    ref_seq, _, (ref_h, ref_total) = _minimal_reference(layer, X, mask=MASK, go_backwards=go_backwards)
    np.testing.assert_allclose(np.asarray(seq), ref_seq, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(h), ref_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(total), ref_total, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 5, 4)) == ((None, 5, 3), (None, 3), (None, 4))


def test_zero_output_for_mask():
    layer = lk.layers.RNN(lk.layers.SimpleRNNCell(3), return_sequences=True, zero_output_for_mask=True)
    out = np.asarray(layer(X, mask=MASK))
    k, rk, b = weights_of(layer)
    ref, _, _ = run_sequence(lambda x, s: simple_rnn_step(x, s, k, rk, b), X.astype(np.float64),
                             [np.zeros((3, 3))], mask=MASK, zero_output_for_mask=True)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert (out[~MASK] == 0).all()


def test_input_projection_is_one_matrix_product(monkeypatch):
    layer = lk.layers.RNN(lk.layers.LSTMCell(3))
    layer(X)
    shapes = []
    matmul = lk.ops.matmul

    def counting(a, b):
        shapes.append((tuple(a.shape), tuple(b.shape)))
        return matmul(a, b)
    monkeypatch.setattr(lk.ops, "matmul", counting)
    layer(X)
    assert shapes[0] == ((15, 4), (4, 12))  # (batch*time, in) x (in, 4u), once
    assert shapes[1:] == [((3, 3), (3, 12))] * 5  # then only the recurrent product, per step


def test_output_masks():
    masked = lk.ops.convert_to_tensor(MASK)
    seq_layer = lk.layers.RNN(lk.layers.GRUCell(2), return_sequences=True, return_state=True)
    assert seq_layer.compute_mask(X, masked)[0] is masked and seq_layer.compute_mask(X, masked)[1:] == [None]
    assert lk.layers.RNN(lk.layers.GRUCell(2)).compute_mask(X, masked) is None
    seq = lk.layers.LSTM(2, return_sequences=True)(X, mask=MASK)
    assert np.array_equal(np.asarray(seq._keras_mask), MASK)  # the next RNN sees the same steps masked


def test_get_config_and_from_config():
    layer = lk.layers.RNN(lk.layers.LSTMCell(3, name="c"), return_sequences=True, zero_output_for_mask=True,
                          activity_regularizer="l2")
    config = layer.get_config()
    assert list(config)[:4] == ["name", "trainable", "dtype", "activity_regularizer"]
    assert config["cell"]["class_name"] == "LSTMCell" and config["cell"]["module"] == "keras.layers"
    revived = lk.layers.RNN.from_config(config)
    assert revived.get_config() == config and revived.cell.name == "c"
    custom = lk.layers.RNN(MinimalRNNCell(2))
    with pytest.raises(ValueError, match="unknown layer class 'MinimalRNNCell'.*custom_objects"):
        lk.layers.RNN.from_config(custom.get_config())
    again = lk.layers.RNN.from_config(custom.get_config(), custom_objects={"MinimalRNNCell": MinimalRNNCell})
    assert isinstance(again.cell, MinimalRNNCell) and again.cell.units == 2


def test_default_names_follow_keras():
    for cls, base in ((lk.layers.SimpleRNN, "simple_rnn"), (lk.layers.LSTM, "lstm"), (lk.layers.GRU, "gru")):
        layer = cls(2)
        assert re.fullmatch(base + r"(_\d+)?", layer.name) and layer.cell.name == base + "_cell"
    assert re.fullmatch(r"rnn(_\d+)?", lk.layers.RNN(lk.layers.GRUCell(2)).name)
    assert re.fullmatch(r"bidirectional(_\d+)?", lk.layers.Bidirectional(lk.layers.GRU(2)).name)


def test_errors():
    with pytest.raises(ValueError, match="should have a `call` method"):
        lk.layers.RNN(object())
    with pytest.raises(ValueError, match="needs a `state_size` attribute"):
        lk.layers.RNN(lk.layers.Dense(2))
    with pytest.raises(ValueError, match="stacked cells"):
        lk.layers.RNN([lk.layers.LSTMCell(2), lk.layers.LSTMCell(2)])
    with pytest.raises(ValueError, match=r"RNN 'r': stateful=True is not supported"):
        lk.layers.RNN(lk.layers.LSTMCell(2), stateful=True, name="r")
    with pytest.raises(ValueError, match=r"RNN 'r' expects an input of rank >= 3 .* shape \(3, 4\)"):
        lk.layers.RNN(lk.layers.LSTMCell(2), name="r")(X[:, 0])
    with pytest.raises(ValueError, match=r"RNN 'r' expects the last input axis to be 4"):
        layer = lk.layers.RNN(lk.layers.LSTMCell(2), name="r")
        layer(X)
        layer(X[..., :3])


def test_graph_mode_trace_equals_eager():
    layer = lk.layers.Bidirectional(lk.layers.LSTM(3, return_sequences=True), merge_mode="sum")
    layer(X)

    def loss_and_grads(x, mask):
        with lk.GradientTape() as tape:
            loss = lk.ops.sum(layer(x, mask=mask) ** 2)
        return [loss] + tape.gradient(loss, layer.trainable_weights)
    traced = lk.function(loss_and_grads)(X, MASK)
    eager = loss_and_grads(lk.ops.convert_to_tensor(X), lk.ops.convert_to_tensor(MASK))
    assert len(traced) == len(eager) == 7
    for a, b in zip(traced, eager):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    unknown_steps = lk.function(lambda x: layer(x), input_signature=[lk.graph.TensorSpec((None, None, 4))])
    with pytest.raises(ValueError, match="cannot trace an RNN over an unknown number of time steps"):
        unknown_steps(X)


def _loss_and_grads(layer, call):
    def run(x, mask, h0):
        with lk.GradientTape() as tape:
            tape.watch([x, h0])
            out = layer(x, mask=mask, initial_state=[h0] * len(layer.state_size)
                        if not isinstance(layer.cell, MinimalRNNCell) else None, **call)
            outs = out if isinstance(out, (list, tuple)) else [out]
            loss = sum(lk.ops.sum(o * o) * (k + 1.0) for k, o in enumerate(outs))
        return [loss] + tape.gradient(loss, [x, h0] + layer.trainable_weights)
    return run


@pytest.mark.parametrize("make", [
    lambda **kw: lk.layers.SimpleRNN(3, **kw),
    lambda **kw: lk.layers.GRU(3, reset_after=False, **kw),
    lambda **kw: lk.layers.LSTM(3, use_cudnn=False, **kw),
    lambda **kw: MinimalRNN(3, **kw),
], ids=["SimpleRNN", "GRU-reset_before", "LSTM-step-loop", "user-cell"])
@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True, "go_backwards": True},
                                    {"return_state": True, "zero_output_for_mask": True}])
@pytest.mark.parametrize("masked", [False, True])
def test_a_traced_step_loop_is_one_scan_node_and_equals_eager(make, kwargs, masked):
    layer = make(dtype="float64", **kwargs)
    x = X.astype("float64")
    layer(x)
    mask = MASK if masked else None
    h0 = np.random.default_rng(5).standard_normal((3, 3))
    run = _loss_and_grads(layer, {})
    compiled = lk.function(run)
    got = compiled(x, mask, h0)
    expected = run(*[lk.convert_to_tensor(a) if a is not None else None for a in (x, mask, h0)])
    for a, b in zip(got, expected):
        if b is None:
            assert a is None
            continue
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-11, atol=1e-12)
    counts = compiled.get_graph(x, mask, h0).kernel_counts()
    assert counts.get("scan") == 2  # the loop and its gradient: the graph does not grow with the steps


def test_unroll_and_training_dropout_unroll_the_traced_loop():
    x = X.astype("float32")

    def kernels(layer, **call):
        layer(x)
        return lk.function(lambda t: layer(t, **call)).get_graph(x).kernel_counts()
    assert "scan" in kernels(lk.layers.SimpleRNN(3))
    assert "scan" not in kernels(lk.layers.SimpleRNN(3, unroll=True))
    # the built-in cells draw their dropout masks before the loop: one mask per sequence, read
    # by every step of the loop node
    layer = lk.layers.SimpleRNN(3, dropout=0.3, recurrent_dropout=0.5, seed=1, return_sequences=True)
    assert "scan" in kernels(layer, training=True)
    compiled = lk.function(lambda t: layer(t, training=True))
    a, b = np.asarray(compiled(x)), np.asarray(compiled(x))
    assert np.isfinite(a).all() and not np.array_equal(a, b)  # new masks per call

    class DroppingCell(MinimalRNNCell):
        """A user cell asking for its dropout mask inside its step."""
        dropout = 0.5

        def call(self, inputs, states, training=False):
            if training:
                inputs = inputs * lk.random.dropout(lk.ops.ones_like(inputs), 0.5, seed=3)
            return super().call(inputs, states)
    assert "scan" not in kernels(lk.layers.RNN(DroppingCell(3)), training=True)
    assert "scan" in kernels(lk.layers.RNN(DroppingCell(3)), training=False)


# ---- Keras 3 reference --------------------------------------------------------------------------


def test_lstm_cell_rnn_config_and_output_match_keras():
    keras = pytest.importorskip("keras")
    ours = lk.layers.RNN(lk.layers.LSTMCell(3), return_sequences=True, go_backwards=True)
    theirs = keras.layers.RNN(keras.layers.LSTMCell(3), return_sequences=True, go_backwards=True)
    assert list(ours.get_config()) == list(theirs.get_config())
    assert list(ours.get_config()["cell"]) == list(theirs.get_config()["cell"])
    ours(X), theirs(X)
    ours.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(X, mask=MASK)), np.asarray(theirs(X, mask=MASK)), rtol=1e-5,
                               atol=1e-6)
    k, rk, b = weights_of(ours)
    ref, _, _ = run_sequence(lambda x, s: lstm_step(x, s, k, rk, b), X.astype(np.float64), [np.zeros((3, 3))] * 2,
                             mask=MASK, go_backwards=True)
    np.testing.assert_allclose(np.asarray(ours(X, mask=MASK)), ref, rtol=1e-5, atol=1e-6)


def test_masking_layer_into_stacked_rnns_matches_keras():
    keras = pytest.importorskip("keras")
    if not hasattr(lk.layers, "Masking"):
        pytest.skip("layerkit has no Masking layer yet")
    x = X.copy()
    x[~MASK] = 0.0

    def build(ns):
        inputs = ns.layers.Input(shape=(None, 4))
        seq = ns.layers.SimpleRNN(3, return_sequences=True)(ns.layers.Masking(0.0)(inputs))
        return ns.models.Model(inputs, [seq, ns.layers.GRU(2)(seq)])

    ours, theirs = build(lk), build(keras)
    ours.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    for a, b in zip(ours(x), theirs(x)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("compiled", [False, True])
def test_an_rnn_over_no_time_steps_is_refused_naming_the_layer(layer, compiled):
    rnn = getattr(lk.layers, layer)(3)
    rnn(np.ones((1, 4, 2), "float32"))
    call = lk.function(lambda x: rnn(x)) if compiled else (lambda x: rnn(lk.convert_to_tensor(x)))
    with pytest.raises(ValueError, match=rf"^{layer} '.*': expected at least one time step, received input shape "
                                         r"\(2, 0, 2\)"):
        call(np.zeros((2, 0, 2), "float32"))  # compiled, once an IndexError from a slice
