"""Tests of Dropout: conformance, inference identity, drop rate and scaling, noise_shape, seeds,
`training` reaching the layer inside models, masks, Keras parity, errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import run_layer_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).uniform(1.0, 2.0, shape).astype("float32")  # no zeros of its own


def test_run_layer_test():
    run_layer_test(lk.layers.Dropout, init_kwargs={"rate": 0.5, "seed": 3}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, supports_masking=True)


def test_run_layer_test_noise_shape():
    run_layer_test(lk.layers.Dropout, init_kwargs={"rate": 0.2, "noise_shape": [None, 1, 4]}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), call_kwargs={"training": True})


@pytest.mark.parametrize("training", [False, None, 0])
def test_inference_is_identity(training):
    x = _data((4, 5))
    out = lk.layers.Dropout(0.5)(x, training=training)
    np.testing.assert_array_equal(np.asarray(out), x)
    np.testing.assert_array_equal(np.asarray(lk.layers.Dropout(0.9)(x)), x)  # the default is inference


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.7])
def test_training_drops_about_rate_and_scales_the_rest(rate):
    x = _data((100, 100))
    out = np.asarray(lk.layers.Dropout(rate, seed=1)(x, training=True))
    dropped = out == 0
    assert abs(dropped.mean() - rate) < 0.03
    np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - rate), rtol=1e-6)


def test_rate_zero_and_one():
    x = _data((3, 4))
    np.testing.assert_array_equal(np.asarray(lk.layers.Dropout(0.0)(x, training=True)), x)
    np.testing.assert_array_equal(np.asarray(lk.layers.Dropout(1.0)(x, training=True)), np.zeros_like(x))


def test_noise_shape_shares_the_mask():
    x = _data((4, 6, 5))
    out = np.asarray(lk.layers.Dropout(0.5, noise_shape=(None, 1, 5), seed=2)(x, training=True))
    kept = out != 0
    assert (kept == kept[:, :1, :]).all(), "the mask must be the same at every step"
    assert 0 < kept.mean() < 1


def test_seed_reproducible_and_calls_differ():
    x = _data((10, 10))
    a, b = lk.layers.Dropout(0.5, seed=42), lk.layers.Dropout(0.5, seed=42)
    first = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first, np.asarray(b(x, training=True)))
    assert not np.array_equal(first, np.asarray(a(x, training=True)))


def test_gradient_flows_only_through_kept_units():
    layer = lk.layers.Dropout(0.5, seed=0)
    x = lk.ops.convert_to_tensor(_data((6, 6)))
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = lk.ops.sum(y)
    grad = np.asarray(tape.gradient(loss, x))
    np.testing.assert_allclose(grad, np.where(np.asarray(y) != 0, 2.0, 0.0))


def test_functional_model_follows_training_argument():
    inp = lk.layers.Input((50,))
    model = lk.models.Model(inp, lk.layers.Dense(50, kernel_initializer="identity", bias_initializer="ones")(
        lk.layers.Dropout(0.5, seed=5)(inp)))
    x = _data((20, 50))
    np.testing.assert_allclose(np.asarray(model(x)), x + 1, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), x + 1, rtol=1e-6)
    trained = np.asarray(model(x, training=True)) - 1
    dropped = np.isclose(trained, 0)
    assert 0.4 < dropped.mean() < 0.6
    np.testing.assert_allclose(trained[~dropped], 2 * x[~dropped], rtol=1e-5)


def test_training_reaches_dropout_inside_a_subclassed_layer():
    class Block(lk.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.drop = lk.layers.Dropout(0.5, seed=1)

        def call(self, x):  # no training argument here: the outer call's flag flows through
            return self.drop(x)

    x = _data((20, 20))
    np.testing.assert_array_equal(np.asarray(Block()(x)), x)
    assert (np.asarray(Block()(x, training=True)) == 0).any()


def test_explicit_training_in_functional_graph():
    inp = lk.layers.Input((30,))
    model = lk.models.Model(inp, lk.layers.Dropout(0.5)(inp, training=True))  # always on, as in Keras
    assert (np.asarray(model(_data((10, 30)))) == 0).any()


def test_mask_passes_through():
    x = lk.layers.Masking()(lk.ops.convert_to_tensor(np.array([[[1.0], [0.0]]], "float32")))
    out = lk.layers.Dropout(0.5)(x, training=True)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), [[True, False]])


def test_no_weights_like_keras():
    keras = pytest.importorskip("keras")
    ours, theirs = lk.layers.Dropout(0.3, seed=1), keras.layers.Dropout(0.3, seed=1)
    x = _data((2, 3))
    ours(x, training=True)
    theirs(x, training=True)
    assert ours.weights == [] and len(theirs.weights) == 0


def test_matches_keras(keras_compare):
    keras = pytest.importorskip("keras")
    x = _data((4, 6))
    keras_compare(lk.layers.Dropout(0.4, noise_shape=(None, 6), seed=1),
                  keras.layers.Dropout(0.4, noise_shape=(None, 6), seed=1), x)
    theirs = np.asarray(keras.layers.Dropout(0.4, seed=1)(x, training=True))
    ours = np.asarray(lk.layers.Dropout(0.4, seed=1)(x, training=True))
    for out in (ours, theirs):  # same rule, different random streams
        np.testing.assert_allclose(out[out != 0], x[out != 0] / 0.6, rtol=1e-6)
    assert lk.layers.Dropout(0.4, noise_shape=[None, 6]).get_config()["noise_shape"] == \
        keras.layers.Dropout(0.4, noise_shape=[None, 6]).get_config()["noise_shape"]


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5", None, True])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match=r"Dropout '.*'.*rate"):
        lk.layers.Dropout(rate)


@pytest.mark.parametrize("noise_shape", ["abc", 3, (2, 0), (2.0, 1)])
def test_bad_noise_shape(noise_shape):
    with pytest.raises(ValueError, match=r"Dropout '.*'.*noise_shape"):
        lk.layers.Dropout(0.5, noise_shape=noise_shape)


def test_noise_shape_rank_mismatch_names_layer():
    with pytest.raises(ValueError, match=r"Dropout 'dr'.*noise_shape.*\(2, 3\)"):
        lk.layers.Dropout(0.5, noise_shape=(None, 1, 3), name="dr")(_data((2, 3)), training=True)


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        lk.layers.Dropout(0.5, seed="x")


def test_traced_function_applies_dropout_when_training():
    layer = lk.layers.Dropout(0.5, seed=1)
    f = lk.function(lambda x: layer(x, training=True))
    out = np.asarray(f(_data((10, 10))))
    assert (out == 0).any() and (out != 0).any()


def test_traced_function_draws_a_new_mask_per_call():
    layer = lk.layers.Dropout(0.5, seed=1)
    f = lk.function(lambda x: layer(x, training=True))
    x = _data((10, 10))
    assert not np.array_equal(np.asarray(f(x)), np.asarray(f(x)))
