import numpy as np
import pytest
from rnn_reference import simple_rnn_step, weights_of

import layerkit as lk
from layerkit.testing import run_layer_test

RNG = np.random.default_rng(13)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)


class StepSimpleRNNCell(lk.layers.SimpleRNNCell):
    """A SimpleRNNCell whose call() is overridden, so RNN steps through `cell(x_t, states)`
    itself (the generic path) instead of the built-in one-GEMM input projection."""

    def call(self, inputs, states, training=False):
        return super().call(inputs, states, training=training)


class SimpleRNNCellRNN(lk.layers.RNN):
    """RNN over a StepSimpleRNNCell, made from plain arguments: what run_layer_test needs to
    rebuild the layer (in float64 for the gradient check)."""

    def __init__(self, units, cell_kwargs=None, **kwargs):
        super().__init__(StepSimpleRNNCell(units, dtype=kwargs.get("dtype"), **(cell_kwargs or {})), **kwargs)
        self.units, self.cell_kwargs = units, dict(cell_kwargs or {})

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        config.update(units=self.units, cell_kwargs=self.cell_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def test_run_layer_test():
    run_layer_test(SimpleRNNCellRNN, init_kwargs={"units": 3}, input_shape=(2, 4, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=3)
    run_layer_test(SimpleRNNCellRNN, init_kwargs={"units": 2, "cell_kwargs": {"use_bias": False},
                                                  "return_state": True},
                   input_shape=(2, 3, 3), expected_output_shape=[(2, 2), (2, 2)], expected_num_trainable_weights=2)


def test_one_step_matches_numpy_with_list_or_tensor_state():
    cell = lk.layers.SimpleRNNCell(3)
    x, h0 = X[:, 0], RNG.standard_normal((3, 3)).astype("float32")
    cell(x, [h0])
    cell.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in cell.get_weights()])
    ref, _ = simple_rnn_step(x.astype(np.float64), [h0], *weights_of(cell))
    out, states = cell(x, [h0])
    assert isinstance(states, list) and states[0] is out
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-5, atol=1e-6)
    out, state = cell(x, h0)  # a bare tensor state comes back bare
    np.testing.assert_allclose(np.asarray(state), ref, rtol=1e-5, atol=1e-6)
    assert cell.state_size == 3 and cell.output_size == 3


def test_generic_step_path_matches_the_fused_path():
    fused = lk.layers.RNN(lk.layers.SimpleRNNCell(3), return_sequences=True, go_backwards=True)
    stepped = lk.layers.RNN(StepSimpleRNNCell(3), return_sequences=True, go_backwards=True)
    fused(X), stepped(X)
    stepped.set_weights(fused.get_weights())
    np.testing.assert_allclose(np.asarray(fused(X, mask=MASK)), np.asarray(stepped(X, mask=MASK)), rtol=1e-6,
                               atol=1e-6)


def test_config_round_trip_and_errors():
    cell = lk.layers.SimpleRNNCell(4, activation="relu", dropout=0.1, seed=2)
    assert lk.layers.SimpleRNNCell.from_config(cell.get_config()).get_config() == cell.get_config()
    with pytest.raises(ValueError, match="`dropout` must be a float in"):
        lk.layers.SimpleRNNCell(2, dropout=True)
    with pytest.raises(ValueError, match="`units` must be a positive int"):
        lk.layers.SimpleRNNCell(None)


def test_config_keys_and_one_step_match_keras():
    keras = pytest.importorskip("keras")
    assert list(lk.layers.SimpleRNNCell(3).get_config()) == list(keras.layers.SimpleRNNCell(3).get_config())
    ours, theirs = lk.layers.SimpleRNNCell(3), keras.layers.SimpleRNNCell(3)
    x, h0 = X[:, 0], RNG.standard_normal((3, 3)).astype("float32")
    ours(x, [h0]), theirs(x, [h0])
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    ours.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x, [h0])[0]), np.asarray(theirs(x, [h0])[0]), rtol=1e-5, atol=1e-6)
