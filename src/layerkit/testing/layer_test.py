"""run_layer_test: the conformance check every layer passes, for layerkit's layers and yours."""
import numpy as np

from layerkit.autodiff import GradientTape
from layerkit.backend import floatx, set_floatx
from layerkit.ops import SymbolicTensor, convert_to_tensor
from layerkit.ops import multiply as _multiply
from layerkit.ops import sum as _sum
from layerkit.utils import tree


def _sample(shape, dtype, rng):
    if dtype in ("int32", "int64"):
        return rng.integers(0, 5, size=shape).astype(dtype)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    return rng.standard_normal(shape).astype(dtype)


def _shapes_match(expected, actual, ignore_batch=False):
    if len(expected) != len(actual):
        return False
    pairs = list(zip(expected, actual))[1 if ignore_batch else 0:]
    return all(e is None or a is None or e == a for e, a in pairs)


def run_layer_test(layer_cls, init_kwargs=None, input_shape=None, input_dtype="float32", input_data=None,
                   call_kwargs=None, expected_output_shape=None, expected_output_dtype=None,
                   expected_num_trainable_weights=None, expected_num_non_trainable_weights=None,
                   expected_num_losses=None, supports_masking=None, run_training_check=True,
                   run_gradient_check=True, gradient_check_training=False, run_graph_check=True, seed=0):
    """Checks a layer class the way layerkit checks its own layers, and returns the layer it built.

    1. Config: every `init_kwargs` key is in `get_config()`, and `from_config(get_config())` gives
       a layer with the same config.
    2. Eager: calling on data (`input_data`, or random data of `input_shape`/`input_dtype`) builds
       the layer; the output has `expected_output_shape`/`expected_output_dtype`; the numbers of
       trainable and non-trainable weights are as expected.
    3. Symbolic: the same layer class called on a symbolic input (batch axis None) predicts the
       output shape, and `compute_output_shape` agrees; a Functional model around the layer
       gives the eager output.
    4. Training: `training=True` and `training=False` both run; a gradient step on
       `mean(output**2)` reaches every trainable weight and moves it.
    5. Gradients: on a float64 copy with the same weights, the tape's gradients with respect to
       the input and every trainable weight match central differences (at sampled entries).
    6. Graph mode: in a traced function (`lk.function`), the outputs, the gradients with respect
       to the float inputs and trainable weights, and the non-trainable weights after the call
       (moving statistics) equal eager ones, in inference and (when the call draws no random
       numbers) in training.

    Example:
    >>> import layerkit as lk
    >>> from layerkit.testing import run_layer_test
    >>> _ = run_layer_test(lk.layers.Dense, init_kwargs={"units": 4}, input_shape=(2, 3),
    ...                    expected_output_shape=(2, 4), expected_num_trainable_weights=2)
    """
    from layerkit.layers.core.input_layer import Input
    from layerkit.models import Model

    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    rng = np.random.default_rng(seed)
    name = layer_cls.__name__

    # 1. config round trip
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    missing = [k for k in init_kwargs if k not in config]
    assert not missing, (f"{name}.get_config() lacks the constructor argument(s) {missing}: from_config(get_config()) "
                         "would lose them. Add them to get_config().")
    revived = layer_cls.from_config(config)
    assert revived.get_config() == config, (f"{name}: from_config(get_config()) gives a different config:\n"
                                            f"{revived.get_config()}\n!=\n{config}")
    # 2. eager call
    if input_data is None:
        if input_shape is None:
            raise ValueError("run_layer_test: pass `input_shape` or `input_data`.")
        input_data = _map_shapes(lambda s: _sample(s, input_dtype, rng), input_shape)
    inputs = tree.map_structure(lambda a: convert_to_tensor(a), input_data)
    output = layer(inputs, **call_kwargs)
    assert layer.built, f"{name} is not built after its first call."
    outputs = tree.flatten(output)
    if expected_output_shape is not None:
        expected = _shape_list(expected_output_shape)
        for o, e in zip(outputs, expected):
            assert tuple(o.shape) == tuple(e), f"{name}: output shape {tuple(o.shape)} != expected {tuple(e)}"
    if expected_output_dtype is not None:
        for o in outputs:
            assert o.dtype == expected_output_dtype, f"{name}: output dtype {o.dtype} != {expected_output_dtype}"
    if expected_num_trainable_weights is not None:
        n = len(layer.trainable_weights)
        assert n == expected_num_trainable_weights, f"{name}: {n} trainable weights, expected " \
                                                    f"{expected_num_trainable_weights}"
    if expected_num_non_trainable_weights is not None:
        n = len(layer.non_trainable_weights)
        assert n == expected_num_non_trainable_weights, f"{name}: {n} non-trainable weights, expected " \
                                                        f"{expected_num_non_trainable_weights}"
    if expected_num_losses is not None:
        assert len(layer.losses) == expected_num_losses, f"{name}: {len(layer.losses)} losses, expected " \
                                                         f"{expected_num_losses}"
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking, f"{name}.supports_masking is {layer.supports_masking}"

    # 3. symbolic call, compute_output_shape, and a Functional model around the layer
    sym_layer = layer_cls(**init_kwargs)
    sym_in = tree.map_structure(lambda a: SymbolicTensor((None,) + tuple(a.shape[1:]), a.dtype), inputs)
    sym_out = sym_layer(sym_in, **call_kwargs)
    for s, o in zip(tree.flatten(sym_out), outputs):
        assert isinstance(s, SymbolicTensor), f"{name}: a symbolic call returned {type(s).__name__}"
        assert _shapes_match(s.shape, o.shape, ignore_batch=True), \
            f"{name}: symbolic output shape {s.shape} disagrees with the eager output shape {tuple(o.shape)}"
    try:
        predicted = sym_layer.compute_output_shape(tree.map_structure(lambda a: tuple(a.shape), inputs))
    except NotImplementedError:
        predicted = None
    if predicted is not None:
        for p, o in zip(_shape_list(predicted), outputs):
            assert _shapes_match(tuple(p), tuple(o.shape)), \
                f"{name}: compute_output_shape gives {tuple(p)}, the eager output has {tuple(o.shape)}"
    model_in = tree.map_structure(lambda a: Input(batch_shape=(None,) + tuple(a.shape[1:]), dtype=a.dtype), inputs)
    model = Model(model_in, layer(model_in, **call_kwargs))
    again = model(inputs, **{k: v for k, v in call_kwargs.items() if k == "training"})
    if not call_kwargs.get("training"):
        for a, b in zip(tree.flatten(again), outputs):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name}: a Functional model around the layer changes its output")

    # 4. training and inference, and one gradient step
    if run_training_check:
        kwargs = {k: v for k, v in call_kwargs.items() if k != "training"}
        if "training" in layer._call_parameters():
            layer(inputs, training=False, **kwargs)
        trainable = layer.trainable_weights
        if trainable:
            before = [np.array(w) for w in trainable]
            with GradientTape() as tape:
                out = layer(inputs, training=True, **kwargs) if "training" in layer._call_parameters() \
                    else layer(inputs, **kwargs)
                loss = sum(_sum(_multiply(o, o)) for o in tree.flatten(out) if o.dtype in ("float32", "float64"))
                for extra in layer.losses:
                    loss = loss + extra
            grads = tape.gradient(loss, trainable)
            for w, g in zip(trainable, grads):
                assert g is not None, f"{name}: no gradient reaches trainable weight '{w.name}'"
                assert tuple(g.shape) == tuple(w.shape), f"{name}: gradient of '{w.name}' has shape {g.shape}"
                w.assign_sub(np.asarray(g) * 0.1)
            moved = [not np.array_equal(b, np.array(w)) for b, w in zip(before, trainable)]
            assert any(moved), f"{name}: a gradient step changed no trainable weight"
            for b, w in zip(before, trainable):
                w.assign(b)

    # 5. float64 gradients against central differences
    if run_gradient_check:
        check_layer_gradients(layer_cls, init_kwargs, layer, input_data, call_kwargs, gradient_check_training, rng)

    # 6. graph mode against eager
    if run_graph_check:
        check_graph_mode(layer, inputs, call_kwargs)
    return layer


def check_graph_mode(layer, inputs, call_kwargs, rtol=1e-4, atol=1e-5):
    """A traced call of `layer` (output, gradients of sum(output**2) with respect to the float
    inputs and trainable weights, non-trainable weights after the call) equals an eager one."""
    from layerkit.graph.function import function

    name = type(layer).__name__
    kwargs = {k: v for k, v in call_kwargs.items() if k != "training"}
    modes = [None]
    if "training" in layer._call_parameters():
        modes = [False, True]
    weights = layer.weights
    saved = [np.array(w) for w in weights]

    def restore():
        for w, v in zip(weights, saved):
            w.assign(v)

    def step(xs, training):
        flat = tree.flatten(xs)
        sources = [x for x in flat if x.dtype in ("float32", "float64")]
        with GradientTape() as tape:
            tape.watch(sources)
            call = dict(kwargs) if training is None else dict(kwargs, training=training)
            outs = [o for o in tree.flatten(layer(xs, **call)) if o is not None]
            loss = sum(_sum(_multiply(o, o)) for o in outs if o.dtype in ("float32", "float64"))
        grads = tape.gradient(loss, sources + layer.trainable_weights) if sources or layer.trainable_weights else []
        return outs + [g for g in grads if g is not None] + [w.value for w in layer.non_trainable_weights]

    arrays = tree.map_structure(np.asarray, inputs)
    for training in modes:
        traced = function(lambda xs, training=training: step(xs, training))
        if "random" in traced.get_graph(arrays).kernel_counts():
            continue  # random draws (dropout, noise in training): eager and traced calls draw apart
        eager = [np.asarray(v) for v in step(inputs, training)]
        restore()
        got = [np.asarray(v) for v in traced(arrays)]
        restore()
        assert len(got) == len(eager), f"{name}: a traced call returned {len(got)} values, eagerly {len(eager)}"
        for k, (a, b) in enumerate(zip(got, eager)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=(
                f"{name}: in a traced function (training={training}) value {k} (outputs, gradients, then "
                "non-trainable weights) differs from eager"))


def _is_shape(s):
    return isinstance(s, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer)) for d in s)


def _map_shapes(fn, shape):
    """`fn` applied to each shape of a shape, a list of shapes, or a dict of shapes."""
    if isinstance(shape, dict):
        return {k: _map_shapes(fn, v) for k, v in shape.items()}
    if _is_shape(shape):
        return fn(tuple(shape))
    return [_map_shapes(fn, s) for s in shape]


def _shape_list(shape):
    out = []
    _map_shapes(out.append, shape)
    return out


def check_layer_gradients(layer_cls, init_kwargs, layer, input_data, call_kwargs, training, rng, samples=12,
                          eps=1e-6, rtol=1e-4, atol=1e-6):
    """Tape gradients of a float64 copy of `layer` (same weights) with respect to its float
    inputs and trainable weights, against central differences at `samples` entries each."""
    kwargs = dict(init_kwargs)
    kwargs["dtype"] = "float64"
    data64 = tree.map_structure(
        lambda a: np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a), input_data)
    previous = floatx()
    set_floatx("float64")  # sublayers made without a dtype are float64 too
    try:
        layer64 = layer_cls(**kwargs)
        call = dict(call_kwargs)
        if "training" in layer64._call_parameters():
            call["training"] = training
        layer64(tree.map_structure(convert_to_tensor, data64), **call)
    finally:
        set_floatx(previous)
    for w64, w in zip(layer64.weights, layer.weights):
        w64.assign(np.asarray(w, np.float64))
    flat = tree.flatten(data64)
    probe = tree.flatten(layer64(tree.map_structure(convert_to_tensor, data64), **call))
    cots = [rng.standard_normal(np.shape(p)) for p in probe]

    def objective_tensors(xs):
        outs = tree.flatten(layer64(tree.pack_sequence_as(data64, xs), **call))
        return sum(_sum(_multiply(o, convert_to_tensor(c))) for o, c in zip(outs, cots)
                   if o.dtype == "float64")

    tensors = [convert_to_tensor(a) for a in flat]
    float_inputs = [t for t in tensors if t.dtype == "float64"]
    weights = layer64.trainable_weights
    with GradientTape() as tape:
        for t in float_inputs:
            tape.watch(t)
        y = objective_tensors(tensors)
    grads = tape.gradient(y, float_inputs + weights, unconnected_gradients="zero")

    def objective_value():
        return float(np.asarray(objective_tensors([convert_to_tensor(a) for a in flat])))

    targets = [(a, None) for a in flat if a.dtype == np.float64] + [(None, w) for w in weights]
    for (arr, var), g in zip(targets, grads):
        values = np.array(var) if var is not None else arr
        picks = rng.choice(values.size, size=min(samples, values.size), replace=False)
        for j in picks:
            flat_vals = values.reshape(-1)
            old = flat_vals[j]
            num = []
            for delta in (eps, -eps):
                flat_vals[j] = old + delta
                if var is not None:
                    var.assign(values)
                num.append(objective_value())
            flat_vals[j] = old
            if var is not None:
                var.assign(values)
            numeric = (num[0] - num[1]) / (2 * eps)
            analytic = np.asarray(g).reshape(-1)[j]
            what = f"weight '{var.name}'" if var is not None else "the input"
            assert abs(analytic - numeric) <= atol + rtol * abs(numeric), (
                f"{layer_cls.__name__}: gradient with respect to {what} at flat index {j}: tape {analytic}, "
                f"central difference {numeric}")
