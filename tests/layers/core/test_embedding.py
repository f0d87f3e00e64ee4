"""Tests of Embedding: conformance, lookup formula, Keras parity, masks (eager and Functional), errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


class _MaskProbe(lk.layers.Layer):
    """Records the mask it receives and passes it on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.seen = "not called"

    def call(self, inputs, mask=None):
        self.seen = mask
        return inputs


def _ids(shape, high=6, seed=0):
    return np.random.default_rng(seed).integers(0, high, size=shape).astype("int32")


def test_run_layer_test():
    run_layer_test(lk.layers.Embedding, init_kwargs={"input_dim": 6, "output_dim": 3}, input_shape=(2, 4),
                   input_dtype="int32", expected_output_shape=(2, 4, 3), expected_output_dtype="float32",
                   expected_num_trainable_weights=1, supports_masking=False)


def test_run_layer_test_mask_zero():
    run_layer_test(lk.layers.Embedding, init_kwargs={"input_dim": 5, "output_dim": 2, "mask_zero": True},
                   input_shape=(3, 2), input_dtype="int32", expected_output_shape=(3, 2, 2),
                   supports_masking=True)


def test_lookup_matches_numpy():
    layer = lk.layers.Embedding(6, 4)
    ids = _ids((3, 5))
    out = np.asarray(layer(ids))
    table = np.asarray(layer.embeddings)
    np.testing.assert_array_equal(out, table[ids])


def test_float_inputs_are_cast_to_int_and_output_has_layer_dtype():
    layer = lk.layers.Embedding(6, 2, dtype="float64")
    out = layer(np.array([[1.0, 5.0]], "float32"))
    assert out.dtype == "float64"
    np.testing.assert_array_equal(np.asarray(out), np.asarray(layer.embeddings)[[[1, 5]]])


def test_default_initializer_is_uniform_005():
    layer = lk.layers.Embedding(200, 50)
    layer.build()
    table = np.asarray(layer.embeddings)
    assert np.abs(table).max() <= 0.05 and np.abs(table).max() > 0.04
    config = layer.get_config()["embeddings_initializer"]
    assert config["class_name"] == "RandomUniform"
    assert (config["config"]["minval"], config["config"]["maxval"]) == (-0.05, 0.05)


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    keras_compare(lk.layers.Embedding(7, 3, mask_zero=True), keras.layers.Embedding(7, 3, mask_zero=True),
                  _ids((2, 5), high=7))


def test_mask_matches_keras():
    keras = pytest.importorskip("keras")
    ids = np.array([[3, 0, 1, 0]], "int32")
    ours = lk.layers.Embedding(5, 2, mask_zero=True).compute_mask(lk.ops.convert_to_tensor(ids))
    theirs = keras.layers.Embedding(5, 2, mask_zero=True).compute_mask(ids)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_mask_zero_mask_reaches_next_layer_eager():
    ids = np.array([[3, 0, 1], [0, 0, 2]], "int32")
    emb = lk.layers.Embedding(5, 2, mask_zero=True)
    probe = _MaskProbe()
    x = emb(ids)
    np.testing.assert_array_equal(np.asarray(x._keras_mask), ids != 0)
    out = probe(x)
    np.testing.assert_array_equal(np.asarray(probe.seen), ids != 0)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), ids != 0)


def test_mask_zero_mask_reaches_next_layer_functional():
    inp = lk.layers.Input((3,), dtype="int32")
    probe = _MaskProbe()
    sym = probe(lk.layers.Embedding(5, 2, mask_zero=True)(inp))
    assert sym._keras_mask is not None and tuple(sym._keras_mask.shape) == (None, 3)
    model = lk.models.Model(inp, sym)
    ids = np.array([[3, 0, 1], [0, 4, 0]], "int32")
    out = model(ids)
    np.testing.assert_array_equal(np.asarray(probe.seen), ids != 0)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), ids != 0)


def test_no_mask_without_mask_zero():
    out = lk.layers.Embedding(5, 2)(np.array([[0, 1]], "int32"))
    assert getattr(out, "_keras_mask", None) is None


def test_input_length_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="input_length"):
        layer = lk.layers.Embedding(5, 2, input_length=7)
    assert "input_length" not in layer.get_config()
    assert layer(np.zeros((1, 3), "int32")).shape == (1, 3, 2)


def test_initial_weights():
    table = np.arange(6, dtype="float32").reshape(3, 2)
    layer = lk.layers.Embedding(3, 2, weights=[table])
    np.testing.assert_array_equal(np.asarray(layer(np.array([2, 0], "int32"))), table[[2, 0]])


def test_regularizer_and_constraint():
    layer = lk.layers.Embedding(4, 2, embeddings_regularizer=lk.regularizers.L2(0.1), embeddings_constraint="non_neg")
    layer.build()
    assert isinstance(layer.embeddings.constraint, lk.constraints.NonNeg)
    np.testing.assert_allclose(float(np.asarray(layer.losses[0])), 0.1 * np.sum(np.asarray(layer.embeddings) ** 2),
                               rtol=1e-5)


@pytest.mark.parametrize("arg", ["input_dim", "output_dim"])
@pytest.mark.parametrize("value", [0, -1, 2.0, None, True])
def test_bad_dims(arg, value):
    kwargs = {"input_dim": 3, "output_dim": 2, arg: value}
    with pytest.raises(ValueError, match=arg):
        lk.layers.Embedding(**kwargs)


def test_out_of_range_index_raises():
    with pytest.raises((ValueError, IndexError)):
        lk.layers.Embedding(3, 2)(np.array([[3]], "int32"))
