"""The comparison both differential tests (test_differential.py: random programs,
test_differential_models.py: random models) make between a compiled and an eager result: within
rtol = atol = 1e-5 (float32) / 1e-10 (float64), plus slack where the eager run in the other float
dtype disagrees (the math itself amplifies rounding there)."""
import numpy as np

TOL = {"float32": 1e-5, "float64": 1e-10}
EPS_RATIO = np.finfo(np.float64).eps / np.finfo(np.float32).eps
SLACK = 8.0  # multiples of the float32-vs-float64 disagreement allowed on top of TOL


def compare(describe, dtype, got, exp, other, what):
    """Asserts compiled `got` matches eager `exp` (`other`: eager in the other dtype); failures
    carry `describe(message)`, which adds the case's reproducer."""
    if exp is None or got is None:
        assert got is None and exp is None, describe(f"{what}: compiled {got!r}, eager {exp!r}")
        return
    assert got.shape == exp.shape and got.dtype == exp.dtype, \
        describe(f"{what}: compiled {got.shape} {got.dtype}, eager {exp.shape} {exp.dtype}")
    tol = TOL[dtype]
    e64 = exp.astype("float64")
    d = np.abs(other.astype("float64") - e64)
    slack = SLACK * d * (1.0 if dtype == "float32" else EPS_RATIO)
    allowed = tol + tol * np.abs(e64) + slack
    err = np.abs(got.astype("float64") - e64)
    bad = ~(err <= allowed)
    if bad.any():
        k = np.flatnonzero(bad)[0]
        raise AssertionError(describe(f"{what} ({dtype}): {bad.sum()} of {bad.size} elements differ; first at "
                                      f"flat index {k}: compiled {got.reshape(-1)[k]!r}, eager "
                                      f"{exp.reshape(-1)[k]!r} (other dtype eager {other.reshape(-1)[k]!r})"
                                      f"\ncompiled:\n{got}\neager:\n{exp}"))
