"""Functional models: symbolic tensors, DAGs, multi-input/output, shared layers, nesting,
feature extraction, ops between layers."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import layers, ops


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_symbolic_shapes_are_known_before_any_data():
    x = layers.Input(shape=(8,))
    h = layers.Dense(16, activation="relu")(x)
    assert isinstance(h, lk.SymbolicTensor) and h.shape == (None, 16)


def test_model_output_equals_manual_layer_composition():
    x = layers.Input(shape=(4,))
    d1, d2 = layers.Dense(8, activation="relu"), layers.Dense(3)
    model = lk.Model(x, d2(d1(x)))
    data = _x(5, 4)
    np.testing.assert_allclose(np.asarray(model(data)), np.asarray(d2(d1(data))), rtol=1e-6)
    assert [layer.name for layer in model.layers][1:] == [d1.name, d2.name]
    assert len(model.weights) == 4


def test_multi_input_multi_output_lists_and_dicts():
    a, b = layers.Input(shape=(3,), name="a"), layers.Input(shape=(5,), name="b")
    merged = ops.concatenate([layers.Dense(4)(a), layers.Dense(4)(b)], axis=-1)
    out1, out2 = layers.Dense(1, name="score")(merged), layers.Dense(2, name="cls")(merged)
    model = lk.Model([a, b], {"score": out1, "cls": out2})
    res = model([_x(2, 3), _x(2, 5)])
    assert set(res) == {"score", "cls"} and res["score"].shape == (2, 1) and res["cls"].shape == (2, 2)
    by_name = model({"a": _x(2, 3), "b": _x(2, 5)})
    np.testing.assert_allclose(np.asarray(by_name["cls"]), np.asarray(res["cls"]), rtol=1e-6)


def test_dict_inputs():
    a, b = layers.Input(shape=(2,), name="left"), layers.Input(shape=(2,), name="right")
    model = lk.Model({"left": a, "right": b}, ops.add(a, b))
    out = model({"left": np.ones((1, 2), "float32"), "right": 2 * np.ones((1, 2), "float32")})
    np.testing.assert_array_equal(np.asarray(out), [[3, 3]])


def test_ops_between_layers_are_replayed():
    x = layers.Input(shape=(4,))
    y = ops.relu(layers.Dense(4)(x)) * 2.0 + 1.0
    model = lk.Model(x, y)
    data = _x(3, 4)
    dense = model.layers[1]
    expected = np.maximum(data @ np.asarray(dense.kernel) + np.asarray(dense.bias), 0) * 2 + 1
    np.testing.assert_allclose(np.asarray(model(data)), expected, rtol=1e-5)


def test_shared_layer_is_one_set_of_weights():
    shared = layers.Dense(3)
    a, b = layers.Input(shape=(4,)), layers.Input(shape=(4,))
    model = lk.Model([a, b], ops.subtract(shared(a), shared(b)))
    assert len(model.weights) == 2
    data = _x(2, 4)
    np.testing.assert_allclose(np.asarray(model([data, data])), 0, atol=1e-6)
    assert len(shared._inbound_nodes) == 2


def test_nested_model_as_a_layer_and_gradients_through_it():
    inner_in = layers.Input(shape=(4,))
    inner = lk.Model(inner_in, layers.Dense(3, activation="tanh")(inner_in), name="inner")
    x = layers.Input(shape=(4,))
    outer = lk.Model(x, layers.Dense(1)(inner(x)))
    assert [layer.name for layer in outer.layers][1] == "inner"
    assert len(outer.weights) == 4
    data = _x(2, 4)
    with lk.GradientTape() as tape:
        loss = ops.mean(ops.square(outer(data)))
    grads = tape.gradient(loss, outer.trainable_weights)
    assert all(g is not None for g in grads)


def test_feature_extraction_from_intermediate_outputs():
    x = layers.Input(shape=(4,))
    h1 = layers.Dense(5, name="h1")(x)
    h2 = layers.Dense(6, name="h2")(h1)
    model = lk.Model(x, layers.Dense(2)(h2))
    features = lk.Model(model.inputs, [model.get_layer("h1").output if hasattr(model.get_layer("h1"), "output")
                                       else h1, h2])
    f1, f2 = features(_x(3, 4))
    assert f1.shape == (3, 5) and f2.shape == (3, 6)


def test_symbolic_shape_mismatch_is_reported_at_graph_construction():
    x = layers.Input(shape=(4,))
    y = layers.Dense(3)(x)
    with pytest.raises(ValueError, match="matmul"):
        ops.matmul(y, ops.ones((4, 2)))


def test_input_shape_mismatch_at_call_names_the_input():
    x = layers.Input(shape=(4,), name="features")
    model = lk.Model(x, layers.Dense(2)(x))
    with pytest.raises(ValueError, match="'features' expects shape \\(None, 4\\).*\\(2, 5\\)"):
        model(_x(2, 5))


def test_outputs_must_come_from_inputs():
    x = layers.Input(shape=(4,))
    other = layers.Input(shape=(4,))
    with pytest.raises(ValueError, match="not among the model's inputs"):
        lk.Model(x, layers.Dense(2)(other))
    with pytest.raises(ValueError, match="must be a tensor returned by lk.layers.Input"):
        lk.Model(ops.ones((1, 4)), layers.Dense(2)(x))


def test_layer_order_follows_keras_depth_ordering():
    a, b = layers.Input(shape=(3,), name="a"), layers.Input(shape=(3,), name="b")
    da = layers.Dense(3, name="da")(a)
    dda = layers.Dense(3, name="dda")(da)
    out = ops.add(dda, layers.Dense(3, name="db")(b))
    names = [layer.name for layer in lk.Model([a, b], out).layers]
    # deepest first: a (depth 3), then da and b (2)... ties by discovery order
    assert names.index("a") < names.index("da") < names.index("dda")
    assert names.index("b") < names.index("db")


def test_get_layer_by_name_and_index_and_errors():
    x = layers.Input(shape=(2,))
    model = lk.Model(x, layers.Dense(1, name="out")(x))
    assert model.get_layer("out") is model.get_layer(index=1)
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")
