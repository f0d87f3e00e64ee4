"""Subclassed models, mixing the three styles, and summary()."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import layers, ops


class Classifier(lk.Model):
    def __init__(self, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.body = lk.Sequential([layers.Dense(8, activation="relu")])
        self.head = layers.Dense(classes)

    def call(self, x, training=None):
        return self.head(self.body(x))


def test_subclassed_model_builds_on_call_and_tracks_weights():
    model = Classifier()
    assert model.weights == []
    out = model(np.ones((2, 5), "float32"))
    assert out.shape == (2, 3) and len(model.weights) == 4
    assert [layer.name for layer in model.layers] == [model.body.name, model.head.name]


def test_subclassed_model_build_with_shape_creates_weights_without_data():
    model = Classifier()
    model.build((None, 5))
    assert model.built and model.count_params() == (5 * 8 + 8) + (8 * 3 + 3)


def test_subclassed_model_inside_functional_model():
    x = layers.Input(shape=(5,))
    model = lk.Model(x, ops.softmax(Classifier()(x)))
    out = np.asarray(model(np.ones((4, 5), "float32")))
    np.testing.assert_allclose(out.sum(axis=-1), 1, rtol=1e-6)


def test_training_loop_with_tape_learns_a_linear_map():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3
    model = lk.Sequential([layers.Dense(1)])
    for _ in range(200):
        with lk.GradientTape() as tape:
            loss = ops.mean(ops.square(model(x) - y))
        for w, g in zip(model.trainable_weights, tape.gradient(loss, model.trainable_weights)):
            w.assign_sub(0.1 * np.asarray(g))
    assert float(loss) < 1e-4


def test_summary_functional_lists_connections_and_totals():
    a, b = layers.Input(shape=(3,), name="a"), layers.Input(shape=(3,), name="b")
    out = layers.Dense(2, name="head")(ops.add(layers.Dense(3, name="pa")(a), b))
    model = lk.Model([a, b], out, name="two_inputs")
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert 'Model: "two_inputs"' in text and "Connected to" in text
    assert "head (Dense)" in text and "pa[0][0]" in text
    assert "Total params: 20 (80.00 B)" in text and "Trainable params: 20" in text


def test_model_positional_arguments_make_a_functional_model():
    x = layers.Input(shape=(2,))
    model = lk.Model(inputs=x, outputs=layers.Dense(1)(x))
    assert isinstance(model, lk.models.Functional)
    with pytest.raises(TypeError, match="keyword arguments only"):
        Classifier.__mro__[1].__init__(Classifier(), 1)
