"""layerkit.random: reproducibility (int seeds, SeedGenerator, the global seed), distribution
statistics, and dtype handling."""
import numpy as np
import pytest

import layerkit as lk
from layerkit import random as R

N = 100_000


def A(t):
    return np.asarray(t)


# Every sampling function, as f(seed) -> Tensor.
SAMPLERS = {
    "normal": lambda s: R.normal((4, 5), seed=s),
    "uniform": lambda s: R.uniform((4, 5), seed=s),
    "truncated_normal": lambda s: R.truncated_normal((4, 5), seed=s),
    "randint": lambda s: R.randint((4, 5), 0, 1000, seed=s),
    "shuffle": lambda s: R.shuffle(np.arange(20), seed=s),
    "dropout": lambda s: R.dropout(np.ones((4, 5)), 0.5, seed=s),
    "categorical": lambda s: R.categorical(np.zeros((3, 10)), 6, seed=s),
}
NAMES = list(SAMPLERS)


@pytest.fixture(autouse=True)
def reset_global_seed():
    yield
    lk.utils.set_random_seed(None)  # back to an unpredictable global generator


# ---- reproducibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_same_int_seed_same_values(name):
    f = SAMPLERS[name]
    np.testing.assert_array_equal(A(f(42)), A(f(42)))
    np.testing.assert_array_equal(A(f(np.int64(42))), A(f(42)))


@pytest.mark.parametrize("name", NAMES)
def test_different_int_seeds_differ(name):
    f = SAMPLERS[name]
    assert not np.array_equal(A(f(1)), A(f(2)))


@pytest.mark.parametrize("name", NAMES)
def test_seed_generator_advances_and_replays(name):
    f = SAMPLERS[name]
    g = R.SeedGenerator(7)
    first, second, third = A(f(g)), A(f(g)), A(f(g))
    assert not np.array_equal(first, second) and not np.array_equal(second, third)
    g2 = R.SeedGenerator(7)
    np.testing.assert_array_equal(A(f(g2)), first)
    np.testing.assert_array_equal(A(f(g2)), second)
    np.testing.assert_array_equal(A(f(g2)), third)
    assert not np.array_equal(A(f(R.SeedGenerator(8))), first)


def test_seed_generator_config_round_trip():
    g = R.SeedGenerator(5, name="sg")
    assert g.get_config() == {"seed": 5, "name": "sg"}
    a = A(R.normal((3,), seed=g))
    b = A(R.normal((3,), seed=R.SeedGenerator(**g.get_config())))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_set_random_seed_makes_unseeded_calls_reproducible(name):
    f = SAMPLERS[name]
    lk.utils.set_random_seed(123)
    run1 = [A(f(None)), A(f(None))]
    lk.utils.set_random_seed(123)
    run2 = [A(f(None)), A(f(None))]
    np.testing.assert_array_equal(run1[0], run2[0])
    np.testing.assert_array_equal(run1[1], run2[1])
    assert not np.array_equal(run1[0], run1[1])  # successive unseeded calls differ
    lk.utils.set_random_seed(124)
    assert not np.array_equal(A(f(None)), run1[0])


def test_set_random_seed_makes_unseeded_seed_generators_reproducible():
    lk.utils.set_random_seed(9)
    a = A(R.uniform((5,), seed=R.SeedGenerator()))
    lk.utils.set_random_seed(9)
    b = A(R.uniform((5,), seed=R.SeedGenerator()))
    np.testing.assert_array_equal(a, b)


def test_set_random_seed_seeds_numpy_and_python():
    import random

    lk.utils.set_random_seed(3)
    a, b = np.random.rand(), random.random()
    lk.utils.set_random_seed(3)
    assert np.random.rand() == a and random.random() == b


@pytest.mark.parametrize("seed", [1.5, "7", [1, 2]])
def test_invalid_seed_type(seed):
    with pytest.raises(TypeError):
        R.normal((2,), seed=seed)


# ---- statistics ------------------------------------------------------------------------------------
# Tolerances are ~6 standard errors of the estimate at N = 1e5 samples.


def test_normal_statistics():
    x = A(R.normal((N,), mean=2.0, stddev=3.0, seed=0)).astype(np.float64)
    assert abs(x.mean() - 2.0) < 6 * 3.0 / np.sqrt(N)
    assert abs(x.std() - 3.0) < 6 * 3.0 / np.sqrt(2 * N)
    assert abs(np.mean(np.abs(x - 2.0) < 3.0) - 0.6827) < 0.01  # actually normal, not just two moments


def test_uniform_statistics():
    x = A(R.uniform((N,), minval=-1.0, maxval=3.0, seed=0)).astype(np.float64)
    assert x.min() >= -1.0 and x.max() < 3.0
    assert abs(x.mean() - 1.0) < 6 * (4 / np.sqrt(12)) / np.sqrt(N)
    assert abs(x.std() - 4 / np.sqrt(12)) < 0.01
    hist, _ = np.histogram(x, bins=8, range=(-1, 3))
    assert np.all(np.abs(hist / N - 1 / 8) < 0.006)


def test_truncated_normal_statistics():
    mean, std = 1.0, 2.0
    x = A(R.truncated_normal((N,), mean=mean, stddev=std, seed=0)).astype(np.float64)
    assert x.min() >= mean - 2 * std and x.max() <= mean + 2 * std
    assert abs(x.mean() - mean) < 0.03
    # the standard deviation of a normal truncated at +-2 sigma is 0.8796 sigma
    assert abs(x.std() - 0.8796 * std) < 0.02
    assert np.mean(np.abs(x - mean) > 1.9 * std) > 0  # samples reach close to the bounds


def test_randint_statistics_and_range():
    x = A(R.randint((N,), 3, 9, seed=0))
    assert x.min() == 3 and x.max() == 8
    counts = np.bincount(x, minlength=9)[3:]
    assert np.all(np.abs(counts / N - 1 / 6) < 0.008)


def test_shuffle_is_a_permutation_along_the_axis():
    x = np.arange(24).reshape(4, 6)
    rows = A(R.shuffle(x, axis=0, seed=1))
    cols = A(R.shuffle(x, axis=1, seed=1))
    assert sorted(map(tuple, rows)) == sorted(map(tuple, x))
    assert not np.array_equal(rows, x)
    np.testing.assert_array_equal(np.sort(cols, axis=1), x)            # each row keeps its elements
    perm = cols[0] - x[0, 0]
    np.testing.assert_array_equal(cols, x[:, perm])                      # one permutation for all rows
    assert not np.array_equal(cols, x)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_keeps_expected_fraction_and_scales(rate):
    x = np.full((N,), 2.0, dtype=np.float32)
    y = A(R.dropout(x, rate, seed=0))
    kept = y != 0
    assert abs(kept.mean() - (1 - rate)) < 6 * np.sqrt(rate * (1 - rate) / N)
    np.testing.assert_allclose(y[kept], 2.0 / (1 - rate), rtol=1e-6)
    assert abs(y.mean() - 2.0) < 0.05  # the expectation is preserved


def test_dropout_rate_zero_is_identity_and_invalid_rates_raise():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(A(R.dropout(x, 0.0, seed=0)), x)
    for rate in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="rate"):
            R.dropout(x, rate, seed=0)


def test_dropout_noise_shape_broadcasts_the_mask():
    y = A(R.dropout(np.ones((1000, 8)), 0.5, noise_shape=(None, 1), seed=0))
    np.testing.assert_array_equal(y, np.repeat(y[:, :1], 8, axis=1))  # whole rows kept or dropped
    assert 0.4 < (y[:, 0] != 0).mean() < 0.6


def test_dropout_is_differentiable():
    x = lk.convert_to_tensor(np.ones((4, 5)))
    with lk.GradientTape() as tape:
        tape.watch(x)
        y = R.dropout(x, 0.5, seed=3)
        loss = lk.ops.sum(y)
    g = A(tape.gradient(loss, x))
    np.testing.assert_array_equal(g, A(y))  # d(x * mask)/dx = mask, and x = 1


def test_categorical_frequencies_follow_the_logits():
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.0, 0.5]])
    with np.errstate(divide="ignore"):
        logits = np.log(p)
    s = A(R.categorical(logits, N, seed=0))
    assert s.shape == (2, N) and s.dtype == np.int32
    for row in range(2):
        freq = np.bincount(s[row], minlength=3) / N
        np.testing.assert_allclose(freq, p[row], atol=0.01)
    assert not np.any(s[1] == 1)  # zero probability is never drawn


def test_categorical_dtype():
    assert R.categorical(np.zeros((2, 3)), 4, dtype="int64", seed=0).dtype == "int64"


# ---- dtypes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [R.normal, R.uniform, R.truncated_normal])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_dtype_honored(fn, dtype):
    out = fn((3, 2), dtype=dtype, seed=0)
    assert out.dtype == dtype and out.shape == (3, 2)
    assert A(out).dtype == np.dtype(dtype)


@pytest.mark.parametrize("fn", [R.normal, R.uniform, R.truncated_normal])
def test_default_dtype_is_floatx(fn):
    assert fn((2,), seed=0).dtype == lk.config.floatx()


@pytest.mark.parametrize("fn", [R.normal, R.uniform, R.truncated_normal])
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_non_float_dtype_raises(fn, dtype):
    with pytest.raises(ValueError, match="dtype"):
        fn((2,), dtype=dtype, seed=0)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_randint_dtype(dtype):
    out = R.randint((5,), 0, 10, dtype=dtype, seed=0)
    assert out.dtype == dtype


def test_float64_normal_has_float64_precision():
    x = A(R.normal((1000,), dtype="float64", seed=0))
    assert not np.array_equal(x, x.astype(np.float32).astype(np.float64))


@pytest.mark.parametrize("shape", [(), 5, (0,), (2, 3, 4)])
def test_shapes(shape):
    expected = (shape,) if isinstance(shape, int) else shape
    assert R.normal(shape, seed=0).shape == expected
    assert R.uniform(shape, seed=0).shape == expected
    assert R.randint(shape, 0, 3, seed=0).shape == expected
