"""GradientTape: sources and structures, watching, persistence, unconnected sources, accumulation,
broadcasting, stop_gradient, output_gradients, higher order, and what gets recorded."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import ops
from layerkit.ops.primitive import TRACE


def T(x):
    return lk.convert_to_tensor(np.asarray(x, dtype=np.float64))


def A(t):
    return np.asarray(t)


@pytest.fixture(autouse=True)
def no_leaked_recorders():
    assert TRACE.recorders == []
    yield
    assert TRACE.recorders == [], "a tape is still recording after its test"


# ---- sources and structures --------------------------------------------------------------------------


def test_gradient_single_tensor():
    x = T([1.0, -2.0, 3.0])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(x * x)
    g = tape.gradient(y, x)
    assert isinstance(g, lk.Tensor) and g.shape == (3,)
    np.testing.assert_allclose(A(g), [2.0, -4.0, 6.0])


@pytest.mark.parametrize("kind", [list, tuple])
def test_gradient_list_of_sources(kind):
    x, w = T([1.0, 2.0]), T([3.0, -1.0])
    with lk.GradientTape() as tape:
        tape.watch([x, w])
        y = ops.sum(x * w + w)
    gs = tape.gradient(y, kind([x, w]))
    assert type(gs) is kind and len(gs) == 2
    np.testing.assert_allclose(A(gs[0]), [3.0, -1.0])
    np.testing.assert_allclose(A(gs[1]), [2.0, 3.0])


def test_gradient_dict_of_sources():
    x, w = T(2.0), T(5.0)
    with lk.GradientTape() as tape:
        tape.watch({"a": x, "b": w})
        y = x * x * w
    gs = tape.gradient(y, {"a": x, "b": w})
    assert set(gs) == {"a", "b"}
    assert float(gs["a"]) == pytest.approx(20.0)
    assert float(gs["b"]) == pytest.approx(4.0)


def test_gradient_of_a_list_of_targets_sums_them():
    x = T([1.0, 2.0])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y1, y2 = ops.sum(x * x), ops.sum(3.0 * x)
    np.testing.assert_allclose(A(tape.gradient([y1, y2], x)), [5.0, 7.0])


def test_gradient_of_target_with_respect_to_itself():
    x = T([1.0, 2.0])
    with lk.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_allclose(A(tape.gradient(x, x)), [1.0, 1.0])


def test_non_scalar_target_uses_ones():
    x = T([[1.0, 2.0], [3.0, 4.0]])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = x * x  # the gradient of sum(y)
    np.testing.assert_allclose(A(tape.gradient(y, x)), 2 * A(x))


def test_watch_rejects_non_tensors():
    with lk.GradientTape() as tape:
        with pytest.raises(TypeError):
            tape.watch(np.ones(3))


def test_gradient_rejects_non_tensor_sources():
    x = T(1.0)
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(TypeError):
        tape.gradient(y, np.ones(()))


# ---- what is watched --------------------------------------------------------------------------------


def test_constants_need_watch():
    x = T([1.0, 2.0])
    with lk.GradientTape() as tape:
        y = ops.sum(x * x)
    assert tape.gradient(y, x) is None


def test_trainable_variables_are_watched_automatically():
    v = lk.Variable(np.array([1.0, 2.0]))
    frozen = lk.Variable(np.array([3.0, 4.0]), trainable=False)
    with lk.GradientTape() as tape:
        y = ops.sum(v * frozen)
    assert tape.watched_variables() == [v]
    gv, gf = tape.gradient(y, [v, frozen])
    np.testing.assert_allclose(A(gv), [3.0, 4.0])
    assert gf is None


def test_non_trainable_variable_can_be_watched_explicitly():
    frozen = lk.Variable(np.array([3.0, 4.0]), trainable=False)
    with lk.GradientTape() as tape:
        tape.watch(frozen)
        y = ops.sum(frozen * frozen)
    np.testing.assert_allclose(A(tape.gradient(y, frozen)), [6.0, 8.0])


def test_watch_accessed_variables_false():
    v, w = lk.Variable(np.array([1.0])), lk.Variable(np.array([2.0]))
    with lk.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(w)
        y = ops.sum(v * w)
    gv, gw = tape.gradient(y, [v, w])
    assert gv is None
    np.testing.assert_allclose(A(gw), [1.0])


# ---- persistence ---------------------------------------------------------------------------------------


def test_non_persistent_tape_raises_on_second_gradient():
    x = T(3.0)
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == 6.0
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, x)


def test_persistent_tape_allows_several_gradients():
    x = T(3.0)
    with lk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * x
    assert float(tape.gradient(y, x)) == 6.0
    assert float(tape.gradient(z, x)) == 27.0
    assert float(tape.gradient(y, x)) == 6.0


def test_non_persistent_tape_frees_its_record():
    x = T(3.0)
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert len(tape._nodes) == 1
    tape.gradient(y, x)
    assert tape._nodes == [] and tape._watched == {}


# ---- unconnected sources ---------------------------------------------------------------------------------


def test_unconnected_source_gives_none_or_zeros():
    x, u = T([1.0, 2.0]), T([[5.0, 6.0, 7.0]])
    with lk.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = ops.sum(x * 2.0)
    gx, gu = tape.gradient(y, [x, u])
    np.testing.assert_allclose(A(gx), [2.0, 2.0])
    assert gu is None
    gx, gu = tape.gradient(y, [x, u], unconnected_gradients="zero")
    assert gu.shape == (1, 3) and gu.dtype == "float64"
    np.testing.assert_array_equal(A(gu), np.zeros((1, 3)))


def test_unconnected_gradients_invalid_value():
    x = T(1.0)
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, x, unconnected_gradients="nan")


def test_non_differentiable_op_cuts_the_path():
    x = T([0.5, -1.5])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.cast(ops.greater(x, 0.0), "float64") * 3.0)
    assert tape.gradient(y, x) is None


# ---- accumulation and broadcasting --------------------------------------------------------------------------


def test_reuse_accumulates():
    x = T([1.0, -2.0, 0.5])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(x * x + x)
    np.testing.assert_allclose(A(tape.gradient(y, x)), 2 * A(x) + 1)


def test_diamond_graph_accumulates():
    x = T(2.0)
    with lk.GradientTape() as tape:
        tape.watch(x)
        a = x * 3.0
        b = ops.exp(a)
        c = a * a
        y = b + c + a
    expected = 3 * np.exp(6.0) + 2 * 6.0 * 3 + 3
    assert float(tape.gradient(y, x)) == pytest.approx(expected, rel=1e-12)


def test_broadcast_add_reduces_gradient():
    b = T([1.0, 2.0, 3.0])
    x = T(np.arange(12.0).reshape(4, 3))
    with lk.GradientTape() as tape:
        tape.watch([x, b])
        y = ops.sum((x + b) * x)
    gx, gb = tape.gradient(y, [x, b])
    assert gb.shape == (3,) and gx.shape == (4, 3)
    np.testing.assert_allclose(A(gb), A(x).sum(axis=0))
    np.testing.assert_allclose(A(gx), 2 * A(x) + A(b))


def test_broadcast_keepdims_shape_reduces():
    s = T([[2.0], [3.0]])
    x = T(np.ones((2, 4)))
    with lk.GradientTape() as tape:
        tape.watch(s)
        y = ops.sum(x * s)
    g = tape.gradient(y, s)
    assert g.shape == (2, 1)
    np.testing.assert_allclose(A(g), [[4.0], [4.0]])


# ---- stop_gradient, output_gradients -------------------------------------------------------------------------


def test_stop_gradient():
    x = T([1.0, 2.0])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(x * ops.stop_gradient(x))
    np.testing.assert_allclose(A(tape.gradient(y, x)), A(x))  # d(x * c)/dx = c


def test_stop_gradient_only_path_gives_none():
    x = T([1.0, 2.0])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.stop_gradient(x * x))
    assert tape.gradient(y, x) is None


def test_output_gradients():
    x = T([1.0, 2.0, 3.0])
    up = T([1.0, 10.0, 100.0])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_allclose(A(tape.gradient(y, x, output_gradients=up)), 2 * A(x) * A(up))


def test_output_gradients_for_a_list_of_targets():
    x = T([1.0, 2.0])
    with lk.GradientTape() as tape:
        tape.watch(x)
        y1, y2 = x * x, x * 3.0
    g = tape.gradient([y1, y2], x, output_gradients=[T([1.0, 0.0]), T([0.0, 2.0])])
    np.testing.assert_allclose(A(g), [2.0, 6.0])


# ---- higher order ---------------------------------------------------------------------------------------------

POINTS = np.array([-1.3, -0.2, 0.4, 1.7])


def _sig(v):
    return 1 / (1 + np.exp(-v))


SECOND_DERIVATIVES = [
    ("cube", lambda t: t ** 3, lambda v: 3 * v ** 2, lambda v: 6 * v),
    ("tanh", ops.tanh, lambda v: 1 - np.tanh(v) ** 2, lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    ("sigmoid", ops.sigmoid, lambda v: _sig(v) * (1 - _sig(v)),
     lambda v: _sig(v) * (1 - _sig(v)) * (1 - 2 * _sig(v))),
    ("exp", ops.exp, np.exp, np.exp),
    ("sin", ops.sin, np.cos, lambda v: -np.sin(v)),
]


@pytest.mark.parametrize("name,fn,d1,d2", SECOND_DERIVATIVES, ids=[c[0] for c in SECOND_DERIVATIVES])
def test_nested_tapes_give_second_derivatives(name, fn, d1, d2):
    x = T(POINTS)
    with lk.GradientTape() as outer:
        outer.watch(x)
        with lk.GradientTape() as inner:
            inner.watch(x)
            y = fn(x)
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    np.testing.assert_allclose(A(g), d1(POINTS), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(A(h), d2(POINTS), rtol=1e-10, atol=1e-14)


def test_third_derivative_of_cube():
    x = T(POINTS)
    with lk.GradientTape() as t3:
        t3.watch(x)
        with lk.GradientTape() as t2:
            t2.watch(x)
            with lk.GradientTape() as t1:
                t1.watch(x)
                y = x ** 3
            g1 = t1.gradient(y, x)
        g2 = t2.gradient(g1, x)
    np.testing.assert_allclose(A(t3.gradient(g2, x)), np.full(4, 6.0))


def test_second_derivative_of_matmul_function():
    # f(x) = sum((x @ w)^2): grad = 2 (x w) w^T, Hessian-vector with v = ones: 2 * ones @ (w w^T)
    x0 = np.array([[0.1, -0.2, 0.3], [0.5, 0.0, -1.0]])
    w0 = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.25]])
    x, w = T(x0), T(w0)
    with lk.GradientTape() as outer:
        outer.watch([x, w])
        with lk.GradientTape() as inner:
            inner.watch(x)
            y = ops.sum(ops.matmul(x, w) ** 2)
        g = inner.gradient(y, x)
        s = ops.sum(g)
    hx, hw = outer.gradient(s, [x, w])
    np.testing.assert_allclose(A(g), 2 * x0 @ w0 @ w0.T, rtol=1e-12)
    np.testing.assert_allclose(A(hx), 2 * np.ones((2, 3)) @ (w0 @ w0.T), rtol=1e-12)
    # d/dw sum(2 x w w^T) = 2 (x^T 1 w + 1^T x w) with 1 = ones(2, 3)
    ones = np.ones((2, 3))
    np.testing.assert_allclose(A(hw), 2 * (x0.T @ ones @ w0 + ones.T @ x0 @ w0), rtol=1e-12)


def test_second_derivative_through_batched_matmul_broadcast():
    # f = sum((a @ x)^2), a batched and x shared: grad = 2 (sum_b a_b^T a_b) x, so H ones = 2 A^T A ones
    a0 = np.random.default_rng(3).normal(size=(2, 3, 2))
    x0 = np.array([[0.3, -0.4], [1.0, 0.2]])
    a, x = T(a0), T(x0)
    with lk.GradientTape() as outer:
        outer.watch(x)
        with lk.GradientTape() as inner:
            inner.watch(x)
            y = ops.sum(ops.matmul(a, x) ** 2)
        g = inner.gradient(y, x)
        s = ops.sum(g)
    h = outer.gradient(s, x)
    ata = np.einsum("bij,bik->jk", a0, a0)
    np.testing.assert_allclose(A(g), 2 * ata @ x0, rtol=1e-12)
    np.testing.assert_allclose(A(h), 2 * ata @ np.ones((2, 2)), rtol=1e-12)


def test_persistent_tape_jacobian_rows():
    x = T([1.0, 2.0])
    with lk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ops.stack([x[0] * x[1], x[0] + 3.0 * x[1]])
        rows = [y[0], y[1]]
    jac = np.stack([A(tape.gradient(r, x)) for r in rows])
    np.testing.assert_allclose(jac, [[2.0, 1.0], [1.0, 3.0]])


# ---- what gets recorded -------------------------------------------------------------------------------------


def test_ops_outside_any_tape_record_nothing():
    tape = lk.GradientTape()
    x = T([1.0, 2.0])
    tape.watch(x)
    y = ops.sum(x * x)  # the tape was never entered
    assert tape._nodes == []
    assert tape.gradient(y, x) is None


def test_tape_records_nothing_after_its_block():
    x = T([1.0, 2.0])
    with lk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * 2.0
    n = len(tape._nodes)
    z = ops.sum(y * y)
    assert len(tape._nodes) == n
    assert tape.gradient(z, x) is None
    np.testing.assert_allclose(A(tape.gradient(y, x)), [2.0, 2.0])


def test_ops_on_unwatched_tensors_are_not_recorded():
    x = T([1.0, 2.0])
    with lk.GradientTape() as tape:
        for _ in range(5):
            x = ops.exp(x) * 0.5
    assert tape._nodes == [] and tape._watched == {}


def test_only_dependent_ops_are_recorded():
    x, c = T([1.0, 2.0]), T([3.0, 4.0])
    with lk.GradientTape() as tape:
        tape.watch(x)
        d = c * c + 1.0        # constants only: not recorded
        y = ops.sum(x * d)     # two recorded ops: multiply and sum
    assert len(tape._nodes) == 2
    np.testing.assert_allclose(A(tape.gradient(y, x)), [10.0, 17.0])


def test_stop_recording():
    x = T(2.0)
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        with tape.stop_recording():
            z = y * x
        w = y * 3.0
    assert tape.gradient([z, w], x) is not None
    assert TRACE.recorders == []


def test_gradient_inside_block_keeps_recording():
    x = T(2.0)
    with lk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        g = tape.gradient(y, x)
        assert tape in TRACE.recorders
        z = y * x
    assert float(g) == 4.0
    assert float(tape.gradient(z, x)) == 12.0


def test_recorder_removed_when_block_raises():
    with pytest.raises(KeyError):
        with lk.GradientTape():
            raise KeyError("boom")
    assert TRACE.recorders == []


def test_reset_clears_the_record():
    x = T(2.0)
    with lk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        tape.reset()
        tape.watch(x)
        z = x * 5.0
    assert tape.gradient(y, x) is None
    assert float(tape.gradient(z, x)) == 5.0


def test_dtype_of_gradients_follows_sources():
    x = lk.convert_to_tensor(np.array([1.0, 2.0], dtype=np.float32))
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.cast(x, "float64") ** 2)
    g = tape.gradient(y, x)
    assert g.dtype == "float32"
    np.testing.assert_allclose(A(g), [2.0, 4.0])


# ---- variables assigned after recording ---------------------------------------------------------------------


@pytest.mark.parametrize("update", [lambda v: v.assign(10.0), lambda v: v.assign_add(1.0),
                                    lambda v: v.assign_sub(1.0)])
def test_gradient_through_a_variable_assigned_after_recording_raises(update):
    # the op read the variable's live buffer: a gradient now would silently use the new value
    v = lk.Variable(3.0, dtype="float64", name="w")
    with lk.GradientTape() as tape:
        y = v * v
    update(v)
    with pytest.raises(RuntimeError, match="'w' was assigned"):
        tape.gradient(y, v)


def test_gradient_before_an_update_is_unaffected():
    v = lk.Variable(3.0, dtype="float64")
    with lk.GradientTape() as tape:
        y = v * v
    g = tape.gradient(y, v)
    v.assign_sub(g)  # an optimizer step
    assert float(g) == 6.0 and float(np.asarray(v)) == -3.0


def test_assigning_a_variable_off_the_backward_path_is_harmless():
    v, u = lk.Variable(3.0, dtype="float64"), lk.Variable(5.0, dtype="float64")
    with lk.GradientTape(persistent=True) as tape:
        y = v * v
        z = u * 2.0
    u.assign(0.0)
    assert float(tape.gradient(y, v)) == 6.0
    assert float(tape.gradient(y, u, unconnected_gradients="zero")) == 0.0


def test_slice_gradients_of_one_tensor_combine_whether_they_tile_are_disjoint_or_overlap():
    x = lk.convert_to_tensor(np.arange(24, dtype="float64").reshape(3, 8))
    with lk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        tiled = ops.sum(x[:, 0:2]) + 2.0 * ops.sum(x[:, 2:4]) + 3.0 * ops.sum(x[:, 4:])
        disjoint = ops.sum(x[:, 1]) + ops.sum(x[:, 5:7])
        overlap = ops.sum(x[:, 1:3]) + ops.sum(x[:, 2:5])
        mixed_axes = ops.sum(x[:, 5]) + ops.sum(x[0])
    expected = {
        "tiled": np.tile([1, 1, 2, 2, 3, 3, 3, 3], (3, 1)),
        "disjoint": np.tile([0, 1, 0, 0, 0, 1, 1, 0], (3, 1)),
        "overlap": np.tile([0, 1, 2, 1, 1, 0, 0, 0], (3, 1)),
        "mixed_axes": np.array([[1, 1, 1, 1, 1, 2, 1, 1], [0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1, 0, 0]]),
    }
    for name, target in [("tiled", tiled), ("disjoint", disjoint), ("overlap", overlap), ("mixed_axes", mixed_axes)]:
        np.testing.assert_array_equal(np.asarray(tape.gradient(target, x)), expected[name], err_msg=name)


def test_a_tape_records_only_its_own_threads_ops():
    # the recording tapes were one list for the process: a tape open in one thread recorded the
    # other threads' ops, made their compiled functions run op by op, and a trace in another thread
    # that cleared and restored the list could put a closed tape back for good
    import threading

    w = lk.Variable(np.ones(3))
    opened, other_done = threading.Event(), threading.Event()
    seen = {}

    def other():
        opened.wait()
        f = lk.function(lambda x: ops.sum(x * w))
        seen["result"] = float(f(np.ones(3)))
        seen["traces"] = f.trace_count  # 1: compiled, not run op by op for the other thread's tape
        seen["recorders"] = list(TRACE.recorders)
        other_done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with lk.GradientTape() as tape:
        opened.set()
        other_done.wait()
        y = ops.sum(w * 2.0)
    thread.join()
    assert seen == {"result": 3.0, "traces": 1, "recorders": []}
    assert len(tape._nodes) == 2  # w * 2.0 and the sum: nothing from the other thread
    np.testing.assert_array_equal(tape.gradient(y, w), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("compiled", [False, True])
def test_output_gradients_of_the_wrong_shape_or_count_are_refused_naming_the_argument(compiled):
    def grad(x, ups):
        with lk.GradientTape() as tape:
            tape.watch(x)
            y = x * 2.0
        return tape.gradient(y, x, output_gradients=ups)
    run = lk.function(grad) if compiled else lambda x, u: grad(lk.convert_to_tensor(x), u)
    x = np.ones(3, "float32")
    with pytest.raises(ValueError, match=r"output_gradients\[0\] has shape \(2,\), expected .* \(3,\)"):
        run(x, np.ones(2, "float32"))  # once a reshape error from inside the backward pass
    with pytest.raises(ValueError, match="`output_gradients` has 2 entries for 1 targets"):
        run(x, [np.ones(3, "float32"), np.ones(3, "float32")])
    np.testing.assert_array_equal(run(x, np.full(3, 0.5, "float32")), [1.0, 1.0, 1.0])
