"""Control flow as ops: cond, while_loop, scan, fori_loop, with `keras.ops` signatures.

Eagerly they are Python control flow on concrete values, and gradients flow through every
iteration the tape saw. Inside a traced function (`lk.function`):
- `cond` on a symbolic predicate becomes one node running the branch the predicate picks (both
  are traced: they must return the same structure of shapes and dtypes, and must not assign
  variables);
- `scan` becomes one loop node running its traced step once per element (its gradient is a
  scan the other way; see layerkit.graph.control_flow), and so does `fori_loop` with static
  bounds;
- `while_loop` with a symbolic condition becomes one loop node running traced cond/body
  subgraphs until the condition fails (nested loop variables allowed). Its trip count depends on data, so it is not
  reverse-differentiable (use scan or fori_loop with static bounds when you need gradients).
"""
import numpy as np

from layerkit.ops import core as C
from layerkit.ops import elementwise as E
from layerkit.ops import layout as S
from layerkit.ops.primitive import TRACE
from layerkit.ops.tensor import SymbolicTensor, Tensor
from layerkit.utils import tree


def _is_symbolic(x):
    return isinstance(x, SymbolicTensor) or (TRACE.tracer is not None and isinstance(x, Tensor)
                                             and x.__class__ is not Tensor)


def _concrete_bool(op_name, value):
    if isinstance(value, SymbolicTensor):
        raise TypeError(f"{op_name}: the predicate is symbolic here; this use needs a concrete value.")
    value = C.convert_to_tensor(value)
    if value.size != 1:
        raise ValueError(f"{op_name}: the predicate must be a scalar, received shape {value.shape}.")
    return bool(value)


def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()`.

    Inside a traced function (`lk.function`) with a predicate known only when it runs, both
    branches are traced and the graph runs the one the predicate picks, as TensorFlow's cond
    does; its gradient runs the same branch's. The branches must return the same structure of
    tensors (shapes and dtypes) and must not assign variables. In a Functional model's symbolic
    pass (shapes only) both branches are traced and the result's spec is theirs."""
    if not _is_symbolic(pred):
        return true_fn() if _concrete_bool("cond", pred) else false_fn()
    tracer = TRACE.tracer
    if tracer is not None:
        return tracer.cond(pred, true_fn, false_fn)
    if any(d != 1 for d in pred.shape):
        raise ValueError(f"cond: the predicate must be a scalar (one element), received shape {tuple(pred.shape)}; "
                         "for an elementwise choice use ops.where.")
    t, f = true_fn(), false_fn()
    if tree.structure(t) != tree.structure(f):
        raise ValueError("cond: the branches return different structures.")
    out = []
    for a, b in zip(tree.flatten(t), tree.flatten(f)):
        a, b = C.convert_to_tensor(a), C.convert_to_tensor(b)
        if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
            raise ValueError(f"cond: the branches return different tensors: shape {a.shape} {a.dtype} vs "
                             f"{b.shape} {b.dtype}.")
        out.append(E.where(pred, a, b))
    return tree.pack_sequence_as(t, out)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeats `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` holds (at most
    `maximum_iterations` times); returns the final loop variables in their structure."""
    single = not isinstance(loop_vars, (list, tuple))
    vars_ = [loop_vars] if single else list(loop_vars)

    def as_list(v):
        return [v] if single else list(v)

    symbolic = any(_is_symbolic(v) for v in tree.flatten(vars_))
    if symbolic or _is_symbolic(cond(*vars_)):
        if TRACE.tracer is None:
            raise ValueError("while_loop: a loop on symbolic tensors can only run inside a traced function "
                             "(lk.function); in a Functional model, run it inside a layer's call().")
        out = TRACE.tracer.while_loop(cond, lambda *v: as_list(body(*v)), vars_, maximum_iterations)
        return out[0] if single else type(loop_vars)(out)
    i = 0
    while (maximum_iterations is None or i < maximum_iterations) and _concrete_bool("while_loop", cond(*vars_)):
        vars_ = as_list(body(*vars_))
        i += 1
    return vars_[0] if single else type(loop_vars)(vars_)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """`carry, y = f(carry, x)` over the leading axis of `xs` (or `length` times with x None);
    returns the final carry and the stacked ys.

    Inside a traced function, on symbolic values, the step is traced once into a loop node
    (`unroll=True` unrolls it into the graph instead, one copy of the step per element; an
    integer `unroll` is accepted for Keras compatibility and keeps the loop)."""
    unroll_ = unroll is True
    xs_flat = tree.flatten(xs) if xs is not None else []
    xs_flat = [C.convert_to_tensor(x) for x in xs_flat]
    n = length
    if xs_flat:
        n = xs_flat[0].shape[0]
        if n is None:
            raise ValueError("scan: the length of `xs` must be known (static); trace with a fixed leading size.")
        for x in xs_flat:
            if x.shape[0] != n:
                raise ValueError(f"scan: every `xs` leaf needs the same leading size ({n}), received {x.shape}.")
    if n is None:
        raise ValueError("scan: pass `xs` or `length`.")
    if length is not None and length != n:
        raise ValueError(f"scan: `length` ({length}) differs from the leading size of `xs` ({n}).")
    if n and not unroll_ and TRACE.tracer is not None and any(_is_symbolic(v) for v in tree.flatten((init, xs_flat))):
        return TRACE.tracer.scan(f, init, xs, n, reverse)
    carry, ys = init, []
    steps = range(n - 1, -1, -1) if reverse else range(n)
    for i in steps:
        x = tree.pack_sequence_as(xs, [x[i] for x in xs_flat]) if xs is not None else None
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    if not ys or ys[0] is None:
        return carry, None
    stacked = [S.stack(parts, axis=0) for parts in zip(*[tree.flatten(y) for y in ys])]
    return carry, tree.pack_sequence_as(ys[0], stacked)


def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for i in [lower, upper).

    Inside a traced function, on symbolic values, static bounds make one `scan` loop node
    (differentiable; `i` is then an int32 scalar tensor, as in Keras on JAX) and symbolic bounds a
    `while_loop`; a body that needs `i` as a Python int (to index a list, say) is unrolled
    instead. The bounds must be integers (Python ints or integer tensors), as in JAX: a float
    bound is refused rather than truncated one way eagerly and compared another way compiled."""
    for name, bound in (("lower", lower), ("upper", upper)):
        dtype = getattr(bound, "dtype", None)
        if isinstance(bound, (float, np.floating)) or (dtype is not None and not np.issubdtype(np.dtype(str(dtype)),
                                                                                               np.integer)):
            got = repr(bound) if dtype is None or isinstance(bound, np.floating) else f"a tensor of dtype {dtype}"
            raise TypeError(f"fori_loop: argument '{name}' must be an integer (a Python int or an integer tensor), "
                            f"received {got}.")
    if _is_symbolic(lower) or _is_symbolic(upper):
        def c(i, val):
            return E.less(i, upper)

        def b(i, val):
            return E.add(i, 1), body_fun(i, val)
        return while_loop(c, b, (C.convert_to_tensor(lower), init_val))[1]
    if TRACE.tracer is not None and int(upper) > int(lower) and any(_is_symbolic(v) for v in tree.flatten(init_val)):
        try:
            return scan(lambda val, i: (body_fun(i, val), None), init_val,
                        C.arange(int(lower), int(upper), dtype="int32"))[0]
        except (TypeError, IndexError, KeyError):  # `i` used as a Python int: unroll (nothing was recorded)
            pass
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val
