"""Sequential: add/pop, read-only layers, build on add when the input shape is known, lazy build."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import layers


def test_constructor_list_and_add_build_at_once_with_an_input():
    model = lk.Sequential([layers.Input(shape=(4,)), layers.Dense(8)])
    assert model.built and len(model.weights) == 2
    model.add(layers.Dense(2))
    assert model.built and model.output_shape == (None, 2)
    assert model(np.ones((3, 4), "float32")).shape == (3, 2)


def test_add_checks_shape_compatibility_and_leaves_the_model_unchanged():
    class Sequence(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = layers.InputSpec(ndim=3)

        def call(self, x):
            return x
    model = lk.Sequential([layers.Input(shape=(4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="layer 1 .*cannot take the output of layer 0 .*rank 3"):
        model.add(Sequence())
    assert len(model.layers) == 1 and model(np.ones((1, 4), "float32")).shape == (1, 3)


def test_input_shape_on_first_layer_builds():
    model = lk.Sequential([layers.Dense(3, input_shape=(5,)), layers.Dense(1)])
    assert model.built and [tuple(w.shape) for w in model.weights] == [(5, 3), (3,), (3, 1), (1,)]


def test_lazy_build_on_first_data_and_batch_axis_stays_open():
    model = lk.Sequential([layers.Dense(3), layers.Dense(1)])
    assert not model.built and model.weights == []
    model(np.ones((7, 2), "float32"))
    assert model.built and model.count_params() == (2 * 3 + 3) + (3 + 1)
    assert model(np.ones((2, 2), "float32")).shape == (2, 1)


def test_layers_is_a_read_only_copy_and_pop():
    model = lk.Sequential([layers.Dense(3), layers.Dense(1)])
    model.layers.append(layers.Dense(9))
    assert len(model.layers) == 2
    last = model.pop()
    assert isinstance(last, layers.Dense) and len(model.layers) == 1


def test_duplicate_names_and_non_layers_are_refused():
    model = lk.Sequential([layers.Dense(3, name="d")])
    with pytest.raises(ValueError, match="unique names.*'d'"):
        model.add(layers.Dense(2, name="d"))
    with pytest.raises(TypeError, match="expected a Layer instance"):
        model.add("dense")


def test_explicit_build_and_summary_counts():
    model = lk.Sequential([layers.Dense(4), layers.Dense(2)])
    model.build((None, 3))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 26" in text and "(None, 4)" in text and "(None, 2)" in text


def test_sequential_inside_functional_and_functional_inside_sequential():
    inner = lk.Sequential([layers.Dense(3, activation="relu"), layers.Dense(2)])
    x = layers.Input(shape=(4,))
    outer = lk.Model(x, inner(x))
    assert outer(np.ones((1, 4), "float32")).shape == (1, 2)
    fx = layers.Input(shape=(2,))
    functional = lk.Model(fx, layers.Dense(5)(fx))
    seq = lk.Sequential([layers.Input(shape=(4,)), inner, functional])
    assert seq(np.ones((2, 4), "float32")).shape == (2, 5)
    assert len(seq.weights) == 6
