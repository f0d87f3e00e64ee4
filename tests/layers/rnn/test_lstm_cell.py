import numpy as np
import pytest
from rnn_reference import lstm_step, weights_of

import layerkit as lk
from layerkit.testing import run_layer_test

RNG = np.random.default_rng(5)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)


class StepLSTMCell(lk.layers.LSTMCell):
    """An LSTMCell whose call() is overridden, so RNN steps through `cell(x_t, states)` itself
    (the generic path) instead of the built-in one-GEMM input projection."""

    def call(self, inputs, states, training=False):
        return super().call(inputs, states, training=training)


class LSTMCellRNN(lk.layers.RNN):
    """RNN over a StepLSTMCell, made from plain arguments: what run_layer_test needs to rebuild
    the layer (in float64 for the gradient check)."""

    def __init__(self, units, cell_kwargs=None, **kwargs):
        super().__init__(StepLSTMCell(units, dtype=kwargs.get("dtype"), **(cell_kwargs or {})), **kwargs)
        self.units, self.cell_kwargs = units, dict(cell_kwargs or {})

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        config.update(units=self.units, cell_kwargs=self.cell_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _states(units=3, batch=3):
    return [RNG.standard_normal((batch, units)).astype("float32") for _ in range(2)]


def test_run_layer_test():
    run_layer_test(LSTMCellRNN, init_kwargs={"units": 3}, input_shape=(2, 4, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=3)
    run_layer_test(LSTMCellRNN, init_kwargs={"units": 2, "cell_kwargs": {"dropout": 0.3, "recurrent_dropout": 0.3},
                                             "return_sequences": True},
                   input_shape=(2, 3, 3), expected_output_shape=(2, 3, 2), expected_num_trainable_weights=3)


def test_one_step_matches_numpy():
    cell = lk.layers.LSTMCell(3, activation="relu")
    x, states = X[:, 0], _states()
    cell(x, states)
    cell.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in cell.get_weights()])
    h, (h2, c) = cell(x, states)
    k, rk, b = weights_of(cell)
    ref_h, (_, ref_c) = lstm_step(x.astype(np.float64), states, k, rk, b, activation=lambda v: np.maximum(v, 0))
    np.testing.assert_allclose(np.asarray(h), ref_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(c), ref_c, rtol=1e-5, atol=1e-6)
    assert h2 is h
    assert cell.state_size == [3, 3] and cell.output_size == 3


@pytest.mark.parametrize("kwargs", [{}, {"go_backwards": True, "return_state": True}])
def test_generic_step_path_matches_the_fused_path(kwargs):
    fused = lk.layers.RNN(lk.layers.LSTMCell(3), return_sequences=True, **kwargs)
    stepped = lk.layers.RNN(StepLSTMCell(3), return_sequences=True, **kwargs)
    fused(X), stepped(X)
    stepped.set_weights(fused.get_weights())
    for call in ({}, {"mask": MASK, "initial_state": _states()}):
        for a, b in zip(lk.utils.tree.flatten(fused(X, **call)), lk.utils.tree.flatten(stepped(X, **call))):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


def test_standalone_dropout_mask_is_cached_until_reset():
    cell = lk.layers.LSTMCell(3, dropout=0.5, seed=0)
    x, states = X[:, 0], _states()
    first = np.asarray(cell(x, states, training=True)[0])
    np.testing.assert_array_equal(first, np.asarray(cell(x, states, training=True)[0]))
    assert not np.allclose(first, np.asarray(cell(x, states)[0]))  # inference: no dropout
    cell.reset_dropout_mask()
    assert not np.allclose(first, np.asarray(cell(x, states, training=True)[0]))


def test_config_round_trip():
    cell = lk.layers.LSTMCell(4, unit_forget_bias=False, recurrent_dropout=0.2, seed=9, name="c")
    config = cell.get_config()
    assert config["name"] == "c" and config["seed"] == 9 and config["unit_forget_bias"] is False
    assert lk.layers.LSTMCell.from_config(config).get_config() == config
    layer = lk.layers.RNN(lk.layers.LSTMCell(2, name="inner"), return_sequences=True)
    revived = lk.layers.RNN.from_config(layer.get_config())
    assert isinstance(revived.cell, lk.layers.LSTMCell) and revived.get_config() == layer.get_config()


def test_errors():
    with pytest.raises(ValueError, match=r"LSTMCell 'c': `units` must be a positive int, received 0"):
        lk.layers.LSTMCell(0, name="c")
    with pytest.raises(ValueError, match="`recurrent_dropout` must be a float in"):
        lk.layers.LSTMCell(2, recurrent_dropout="0.5")
    with pytest.raises(ValueError, match="the feature axis of the input must be known"):
        lk.layers.LSTMCell(2).build((None, None))


def test_config_keys_and_one_step_match_keras():
    keras = pytest.importorskip("keras")
    assert list(lk.layers.LSTMCell(3).get_config()) == list(keras.layers.LSTMCell(3).get_config())
    ours, theirs = lk.layers.LSTMCell(3), keras.layers.LSTMCell(3)
    x, states = X[:, 0], _states()
    ours(x, states), theirs(x, states)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    ours.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    a, b = ours(x, states), theirs(x, states)
    for p, q in zip(lk.utils.tree.flatten(a), lk.utils.tree.flatten(b)):
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=1e-5, atol=1e-6)
