"""layerkit.config: the number of compute threads, and floatx."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import ops


@pytest.fixture(autouse=True)
def restore_threads():
    n = lk.config.get_num_threads()
    yield
    lk.config.set_num_threads(n)


def test_set_num_threads_is_reflected():
    lk.config.set_num_threads(1)
    assert lk.config.get_num_threads() == 1
    lk.config.set_num_threads(2)
    assert lk.config.get_num_threads() == 2
    lk.config.set_num_threads(1)
    assert lk.config.get_num_threads() == 1


def test_get_num_threads_is_a_positive_int():
    n = lk.config.get_num_threads()
    assert isinstance(n, int) and n >= 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, 2.0, "2", None])
def test_set_num_threads_rejects_invalid_values(bad):
    before = lk.config.get_num_threads()
    with pytest.raises(ValueError, match="set_num_threads"):
        lk.config.set_num_threads(bad)
    assert lk.config.get_num_threads() == before


def test_set_num_threads_rejects_bool():
    with pytest.raises(ValueError):
        lk.config.set_num_threads(True)


def test_set_num_threads_accepts_numpy_int():
    lk.config.set_num_threads(np.int64(1))
    assert lk.config.get_num_threads() == 1


def test_results_do_not_depend_on_thread_count():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(256, 192)), rng.normal(size=(192, 128))
    x = rng.normal(size=(64, 1024))
    outs = []
    for n in (1, 2):
        lk.config.set_num_threads(n)
        outs.append((np.asarray(ops.matmul(a, b)), np.asarray(ops.sum(x, axis=1)), np.asarray(ops.exp(x))))
    for one, two in zip(*outs):
        np.testing.assert_allclose(one, two, rtol=1e-12, atol=1e-12)


def test_floatx_round_trip():
    assert lk.config.floatx() == "float32"
    try:
        lk.config.set_floatx("float64")
        assert lk.config.floatx() == "float64"
        assert lk.convert_to_tensor(1.5).dtype == "float64"
        with pytest.raises(ValueError):
            lk.config.set_floatx("int32")
        assert lk.config.floatx() == "float64"
    finally:
        lk.config.set_floatx("float32")
    assert lk.convert_to_tensor(1.5).dtype == "float32"
