"""Checks for ops and layers, for layerkit's own tests and for users writing their own.

- `check_op(fn, reference, *inputs)`: eager output against a NumPy reference, and the op's
  shape/dtype rule (run on symbolic tensors) against the eager output.
- `check_grad(fn, *inputs)`: tape gradients against float64 central differences.
"""
import numpy as np

from layerkit.autodiff import GradientTape
from layerkit.ops import SymbolicTensor, Tensor, convert_to_tensor
from layerkit.ops import sum as _sum
from layerkit.ops import multiply as _multiply


def _leaves(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def check_op(fn, reference, *inputs, rtol=1e-5, atol=1e-6, symbolic=True, **kwargs):
    """Asserts `fn(*tensors, **kwargs)` equals `reference(*arrays, **kwargs)` and that the op's
    shape rule, applied to symbolic inputs of the same shapes and dtypes, predicts the output.

    Inputs are numpy arrays (or scalars); non-array positional arguments are passed through.
    Returns the eager output.
    """
    arrays = [np.asarray(x) if isinstance(x, (np.ndarray, np.generic)) else x for x in inputs]
    tensors = [convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]
    out = fn(*tensors, **kwargs)
    expected = reference(*arrays, **kwargs)
    for o, e in zip(_leaves(out), _leaves(expected)):
        e = np.asarray(e)
        assert isinstance(o, Tensor), f"expected a Tensor, received {type(o).__name__}"
        assert o.shape == e.shape, f"shape {o.shape} != reference shape {e.shape}"
        if e.dtype.kind in "fc":
            np.testing.assert_allclose(np.asarray(o), e, rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(np.asarray(o), e)
    if symbolic:
        sym = [SymbolicTensor(a.shape, a.dtype) if isinstance(a, np.ndarray) else a for a in arrays]
        spec = fn(*sym, **kwargs)
        for s, o in zip(_leaves(spec), _leaves(out)):
            assert isinstance(s, SymbolicTensor), f"symbolic call returned {type(s).__name__}"
            assert s.shape == o.shape, f"shape rule gives {s.shape}, eager output has {o.shape}"
            assert s.dtype == o.dtype, f"dtype rule gives {s.dtype}, eager output has {o.dtype}"
    return out


def numerical_grad(f, inputs, eps=1e-6):
    """Central differences of scalar function `f(*arrays)` at `inputs` (float64 arrays)."""
    grads = []
    for i, x in enumerate(inputs):
        g = np.zeros_like(x)
        flat = x.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            hi = f(*inputs)
            flat[j] = old - eps
            lo = f(*inputs)
            flat[j] = old
            g.reshape(-1)[j] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


def check_grad(fn, *inputs, wrt=None, eps=1e-6, rtol=1e-4, atol=1e-6, seed=0, **kwargs):
    """Asserts the tape's gradients of `fn` equal float64 central differences.

    The scalar checked is `sum(fn(*inputs) * c)` with a fixed random cotangent `c`, so every
    output element is weighted differently. Float inputs are cast to float64; `wrt` lists the
    positions to differentiate (all float inputs by default). Returns the analytic gradients.
    """
    arrays = [np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x) for x in inputs]
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays) if a.dtype == np.float64]
    probe = fn(*[convert_to_tensor(a) for a in arrays], **kwargs)
    cot = np.random.default_rng(seed).normal(size=probe.shape)

    def scalar(*xs):
        full = list(arrays)
        for i, x in zip(wrt, xs):
            full[i] = x
        return float(np.sum(np.asarray(fn(*[convert_to_tensor(a) for a in full], **kwargs)) * cot))

    tensors = [convert_to_tensor(a) for a in arrays]
    with GradientTape() as tape:
        for i in wrt:
            tape.watch(tensors[i])
        y = _sum(_multiply(fn(*tensors, **kwargs), convert_to_tensor(cot)))
    analytic = tape.gradient(y, [tensors[i] for i in wrt], unconnected_gradients="zero")
    numeric = numerical_grad(scalar, [arrays[i] for i in wrt], eps)
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        assert a.shape == n.shape, f"gradient {k}: shape {a.shape} != input shape {n.shape}"
        np.testing.assert_allclose(np.asarray(a), n, rtol=rtol, atol=atol,
                                   err_msg=f"gradient with respect to input {wrt[k]}")
    return analytic


from layerkit.testing.layer_test import check_layer_gradients, run_layer_test  # noqa: E402
