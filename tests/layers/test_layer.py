"""The Layer lifecycle: lazy build, tracking, weights, losses, freezing, config, and misuse errors."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.testing import run_layer_test


class Scale(lk.layers.Layer):
    """Low-level pattern: own math, build + add_weight."""

    def __init__(self, init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.s = self.add_weight(shape=(input_shape[-1],), initializer=lk.initializers.Constant(self.init),
                                 name="s")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, x):
        return x * self.s

    def get_config(self):
        return {**super().get_config(), "init": self.init}


class MLP(lk.layers.Layer):
    """Composition pattern: only existing layers, no build."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = lk.layers.Dense(units, activation="relu")
        self.out = lk.layers.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class BiasedAttention(lk.layers.Layer):
    """Hybrid pattern: sublayers plus a weight of its own."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.proj = lk.layers.Dense(units)

    def build(self, input_shape):
        self.bias_table = self.add_weight(shape=(input_shape[-2], input_shape[-2]), initializer="zeros",
                                          name="bias_table")

    def call(self, x):
        q = self.proj(x)
        scores = ops.matmul(q, ops.transpose(q, (0, 2, 1))) + self.bias_table
        return ops.matmul(ops.softmax(scores), q)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_weights_do_not_exist_before_build_and_do_after_first_call():
    layer = Scale()
    assert not layer.built and layer.weights == []
    layer(np.ones((2, 3), "float32"))
    assert layer.built
    assert [w.name for w in layer.weights] == ["s", "count"]
    assert [w.path for w in layer.weights] == [f"{layer.name}/s", f"{layer.name}/count"]


def test_explicit_build_creates_weights():
    layer = lk.layers.Dense(3)
    layer.build((None, 5))
    assert layer.built and [tuple(w.shape) for w in layer.weights] == [(5, 3), (3,)]


def test_built_is_set_even_without_super_build():
    class NoSuper(lk.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(1,), name="w")

        def call(self, x):
            return x * self.w
    layer = NoSuper()
    layer(np.ones((1, 1), "float32"))
    assert layer.built


@pytest.mark.parametrize("cls,kwargs,n_trainable", [(Scale, {"init": 2.0}, 1), (MLP, {"units": 5}, 4),
                                                   (BiasedAttention, {"units": 3}, 3)])
def test_three_custom_layer_patterns_pass_the_conformance_test(cls, kwargs, n_trainable):
    run_layer_test(cls, init_kwargs=kwargs, input_shape=(2, 4, 6) if cls is BiasedAttention else (2, 6),
                   expected_num_trainable_weights=n_trainable)


def test_trainable_and_non_trainable_weights_in_keras_order():
    layer = Scale()
    layer.build((None, 3))
    assert [w.name for w in layer.trainable_weights] == ["s"]
    assert [w.name for w in layer.non_trainable_weights] == ["count"]


def test_sublayers_in_lists_and_dicts_are_tracked():
    class Nested(lk.layers.Layer):
        def __init__(self):
            super().__init__()
            self.stages = [lk.layers.Dense(3), {"inner": [lk.layers.Dense(2)]}]
            self._private = lk.layers.Dense(1)

        def call(self, x):
            return self._private(self.stages[1]["inner"][0](self.stages[0](x)))
    layer = Nested()
    layer(np.ones((2, 4), "float32"))
    assert len(layer._layers) == 3
    assert len(layer.weights) == 6
    assert layer.count_params() == (4 * 3 + 3) + (3 * 2 + 2) + (2 + 1)


def test_freezing_a_layer_freezes_its_sublayers_and_hides_trainable_weights():
    layer = MLP()
    layer(np.ones((2, 3), "float32"))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    assert not layer.hidden.trainable
    with lk.GradientTape() as tape:
        y = ops.sum(layer(np.ones((2, 3), "float32")))
    assert tape.gradient(y, layer.hidden.kernel) is None  # frozen variables are not watched
    layer.trainable = True
    assert len(layer.trainable_weights) == 4


def test_get_and_set_weights_round_trip_and_errors():
    a, b = lk.layers.Dense(2), lk.layers.Dense(2)
    a.build((None, 3))
    b.build((None, 3))
    b.set_weights(a.get_weights())
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="has 2 weights"):
        b.set_weights(a.get_weights()[:1])
    with pytest.raises(ValueError, match="kernel.*shape \\(3, 2\\).*\\(4, 2\\)"):
        b.set_weights([np.zeros((4, 2)), np.zeros(2)])


def test_losses_from_regularizers_and_add_loss():
    class Penalized(lk.layers.Layer):
        def call(self, x):
            self.add_loss(ops.sum(x) * 0.0 + 1.5)
            return x
    layer = lk.layers.Dense(2, kernel_regularizer=lk.regularizers.L2(0.5))
    layer(np.ones((1, 3), "float32"))
    expected = 0.5 * np.sum(np.square(np.asarray(layer.kernel)))
    assert len(layer.losses) == 1 and np.isclose(float(layer.losses[0]), expected, rtol=1e-6)
    p = Penalized()
    p(np.ones((1, 1), "float32"))
    p(np.ones((1, 1), "float32"))
    assert [float(v) for v in p.losses] == [1.5]  # cleared at the start of each outer call


def test_count_params_before_build_is_explained():
    with pytest.raises(ValueError, match="not built"):
        lk.layers.Dense(2).count_params()


def test_forgetting_super_init_is_explained():
    class Forgetful(lk.layers.Layer):
        def __init__(self):
            self.units = 3

        def call(self, x):
            return x
    with pytest.raises(RuntimeError, match="forgot to call `super\\(\\).__init__"):
        Forgetful()(np.ones((1, 1), "float32"))


def test_creating_weights_in_call_after_build_is_refused():
    class Greedy(lk.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(1,), name="w")

        def call(self, x):
            self.v = self.add_weight(shape=(1,), name="late")
            return x
    with pytest.raises(RuntimeError, match="already built.*'late'.*build\\(\\)"):
        Greedy()(np.ones((1, 1), "float32"))


def test_wrong_input_shape_names_the_layer_and_both_shapes():
    layer = lk.layers.Dense(4, name="the_dense")
    layer(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError) as e:
        layer(np.ones((2, 5), "float32"))
    assert str(e.value) == ("Dense 'the_dense' expects the last input axis to be 4 (it was built for it), "
                            "but received an input of shape (2, 5).")


def test_config_missing_a_constructor_argument_names_it():
    class Forgets(lk.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def get_config(self):
            return super().get_config()  # units missing
    config = Forgets(3).get_config()
    with pytest.raises(TypeError, match="lacks the constructor argument\\(s\\) \\['units'\\]"):
        Forgets.from_config(config)
    with pytest.raises(AssertionError, match="lacks the constructor argument"):
        run_layer_test(Forgets, init_kwargs={"units": 3}, input_shape=(1, 2))


def test_default_get_config_captures_plain_constructor_arguments():
    class Auto(lk.layers.Layer):
        def __init__(self, factor, name=None):
            super().__init__(name=name)
            self.factor = factor

        def call(self, x):
            return x * self.factor
    config = Auto(2.5, name="auto").get_config()
    assert config["factor"] == 2.5 and config["name"] == "auto"
    assert Auto.from_config(config).factor == 2.5


def test_unknown_constructor_keyword_is_refused():
    with pytest.raises(ValueError, match="unrecognized keyword arguments \\['unitz'\\]"):
        lk.layers.Dense(3, unitz=4)


def test_training_flag_reaches_nested_layers():
    seen = []

    class Probe(lk.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Outer(lk.layers.Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, x):
            return self.probe(x)
    Outer()(np.ones((1, 1), "float32"), training=True)
    assert seen == [True]


def test_symbolic_call_checks_shapes_before_any_data():
    x = lk.layers.Input(shape=(None, 6))
    y = lk.layers.Dense(3)(x)
    assert y.shape == (None, None, 3)
    with pytest.raises(ValueError, match="expects the last input axis to be 3"):
        dense = lk.layers.Dense(2)
        dense(lk.layers.Input(shape=(3,)))
        dense(lk.layers.Input(shape=(4,)))
