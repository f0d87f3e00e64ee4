import numpy as np
import pytest
from rnn_reference import gru_step, weights_of

import layerkit as lk
from layerkit.testing import run_layer_test

RNG = np.random.default_rng(17)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)


class StepGRUCell(lk.layers.GRUCell):
    """A GRUCell whose call() is overridden, so RNN steps through `cell(x_t, states)` itself
    (the generic path) instead of the built-in one-GEMM input projection."""

    def call(self, inputs, states, training=False):
        return super().call(inputs, states, training=training)


class GRUCellRNN(lk.layers.RNN):
    """RNN over a StepGRUCell, made from plain arguments: what run_layer_test needs to rebuild
    the layer (in float64 for the gradient check)."""

    def __init__(self, units, cell_kwargs=None, **kwargs):
        super().__init__(StepGRUCell(units, dtype=kwargs.get("dtype"), **(cell_kwargs or {})), **kwargs)
        self.units, self.cell_kwargs = units, dict(cell_kwargs or {})

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        config.update(units=self.units, cell_kwargs=self.cell_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@pytest.mark.parametrize("reset_after", [True, False])
def test_run_layer_test(reset_after):
    run_layer_test(GRUCellRNN, init_kwargs={"units": 3, "cell_kwargs": {"reset_after": reset_after}},
                   input_shape=(2, 4, 3), expected_output_shape=(2, 3), expected_num_trainable_weights=3)


@pytest.mark.parametrize("reset_after", [True, False])
def test_one_step_matches_numpy(reset_after):
    cell = lk.layers.GRUCell(3, reset_after=reset_after)
    x, h0 = X[:, 0], RNG.standard_normal((3, 3)).astype("float32")
    cell(x, h0)
    cell.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in cell.get_weights()])
    ref, _ = gru_step(x.astype(np.float64), [h0], *weights_of(cell), reset_after=reset_after)
    out, state = cell(x, h0)
    assert state is out  # a bare tensor state comes back bare
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-5, atol=1e-6)
    out, states = cell(x, [h0])
    assert isinstance(states, list) and len(states) == 1
    assert cell.state_size == 3 and cell.output_size == 3


@pytest.mark.parametrize("reset_after", [True, False])
def test_generic_step_path_matches_the_fused_path(reset_after):
    fused = lk.layers.RNN(lk.layers.GRUCell(3, reset_after=reset_after), return_sequences=True)
    stepped = lk.layers.RNN(StepGRUCell(3, reset_after=reset_after), return_sequences=True)
    fused(X), stepped(X)
    stepped.set_weights(fused.get_weights())
    np.testing.assert_allclose(np.asarray(fused(X, mask=MASK)), np.asarray(stepped(X, mask=MASK)), rtol=1e-6,
                               atol=1e-6)


def test_config_round_trip_and_errors():
    cell = lk.layers.GRUCell(4, reset_after=False, recurrent_dropout=0.3, seed=1)
    assert cell.implementation == 1 and cell.dropout_mask_count == 3
    assert lk.layers.GRUCell.from_config(cell.get_config()).get_config() == cell.get_config()
    with pytest.raises(ValueError, match="`units` must be a positive int"):
        lk.layers.GRUCell(0)


@pytest.mark.parametrize("reset_after", [True, False])
def test_config_keys_and_one_step_match_keras(reset_after):
    keras = pytest.importorskip("keras")
    assert list(lk.layers.GRUCell(3).get_config()) == list(keras.layers.GRUCell(3).get_config())
    ours, theirs = lk.layers.GRUCell(3, reset_after=reset_after), keras.layers.GRUCell(3, reset_after=reset_after)
    x, h0 = X[:, 0], RNG.standard_normal((3, 3)).astype("float32")
    ours(x, [h0]), theirs(x, [h0])
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]
    ours.set_weights([RNG.standard_normal(w.shape) * 0.5 for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x, [h0])[0]), np.asarray(theirs(x, [h0])[0]), rtol=1e-5, atol=1e-6)
