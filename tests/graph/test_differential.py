"""Differential tests of graph mode: random small programs over lk.ops run eagerly and through
lk.function (tracing, dead code, CSE, constant folding, algebraic simplification, elementwise and
epilogue fusion, in-place updates, arena planning, the native executor) must give the same
results: outputs, gradients taken with a GradientTape inside the function, and the values of
variables assigned inside it, after one call and after two.

Each program is generated as Python source (so a failure prints a script that reproduces it) and
run three ways: eagerly in its dtype, compiled in its dtype, and eagerly in the other float dtype.
The last run measures how well conditioned each result is: where float32 and float64 disagree by
d, the math itself amplifies rounding by about d / eps, and a compiled result is allowed that
much more slack (a few times d in float32, d * eps64 / eps32 in float64); everywhere else the
tolerance is rtol = atol = 1e-5 (float32) / 1e-10 (float64). Inputs are float32 values (upcast
exactly for float64), so comparisons feeding `where`, which only read exactly computed values,
decide the same way in every run.

Values are kept bounded: every generated value carries a bound on its magnitude, and an operand
that would make a result too large (exp of more than 3, products and sums past ~1e3) is first
squashed with tanh. sqrt's operand is abs(x) (abs(x) + 0.5 under a tape: the derivative of sqrt
at 0 is infinite); log's is abs(x) + 1; divisors are abs(x) + 1.

The second call of a compiled program gets new inputs in other layouts (tensors, Fortran order,
strided views); its first call's results must survive it, and no input array may be written.
"""
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from differential_check import compare

import layerkit as lk
from layerkit import ops

SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
MAX_SIZE = 80  # elements of any generated value, for small inputs (which have at most 70)
MAX_RANK = 3
BIG = 1e3  # magnitude bound past which operands are squashed
VAR_BOUND = 14.0  # |variable| <= 2 initially, + at most 3 assigns of |x| <= 2 per call, two calls
UNARY = ["exp", "log1abs", "tanh", "sigmoid", "relu", "square", "sqrtabs", "negative", "abs"]
BINARY = ["add", "subtract", "multiply", "divabs", "maximum", "minimum"]
EXACT_UNARY = {"relu", "negative", "abs"}  # computed exactly from exact operands
COMPARISONS = ["greater", "less", "greater_equal", "less_equal"]
ACTIVATIONS = [None, "relu", "tanh", "sigmoid"]
KINDS = (["unary"] * 4 + ["binary"] * 4 + ["scalar"] * 2 + ["const"] * 2 + ["where"] * 2 + ["reduce"] * 2
         + ["reshape", "transpose", "matmul", "linear", "softmax", "concat", "slice", "slice", "fold", "repeat",
            "repeat", "dead"])


class Val:
    """What the generator knows about a value: shape, a bound on |value|, whether it is computed
    exactly (comparisons read only those), and which sources it depends on."""

    def __init__(self, shape, bound, exact=False, deps=None):
        self.shape, self.bound, self.exact, self.deps = tuple(shape), float(bound), exact, deps


def _size(shape):
    return math.prod(shape)


def _bshape(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _const_literal(values, shape):
    return f"lk.convert_to_tensor(np.array({values.tolist()!r}, DT).reshape({tuple(shape)!r}))"


class Builder:
    """Draws a program instruction by instruction, keeping every value's shape and bound."""

    def __init__(self, draw, grad_mode, max_size):
        self.draw, self.grad_mode, self.max_size = draw, grad_mode, max_size
        self.pool, self.lines, self.pure = [], [], []  # pure: (line template, Val) for repeats

    # ---- helpers ---------------------------------------------------------------------------
    def pick(self, candidates=None):
        """A pool index, preferring recent values (shrinks towards the newest)."""
        idx = list(range(len(self.pool))) if candidates is None else list(candidates)
        back = self.draw(st.integers(0, len(idx) - 1))
        return idx[len(idx) - 1 - back]

    def emit(self, expr, val, pure=True):
        k = len(self.pool)
        self.lines.append(f"v{k} = {expr}")
        if val.deps is None:  # the inputs and variables it is computed from
            val = Val(val.shape, val.bound, val.exact, frozenset().union(
                *[self.pool[int(j)].deps for j in re.findall(r"\bv(\d+)\b", expr)]))
        self.pool.append(val)
        if pure:
            self.pure.append((expr, val))
        return k

    def squash(self, i, limit):
        """Index of pool[i], or of tanh(pool[i]) when its bound exceeds `limit`."""
        if self.pool[i].bound <= limit:
            return i
        return self.emit(f"ops.tanh(v{i})", Val(self.pool[i].shape, 1.0))

    def const_array(self, shape):
        values = self.draw(st.integers(0, 2**31 - 1))
        rng = np.random.default_rng(values)
        special = self.draw(st.sampled_from(["random", "random", "ones", "zeros"]))
        if special == "ones":
            arr = np.ones(shape)
        elif special == "zeros":
            arr = np.zeros(shape)
        else:
            arr = rng.integers(-6, 7, shape) / 4.0  # exact in float32
            if arr.size > 16:  # a large constant: the expression that makes it
                return (f"lk.convert_to_tensor((np.random.default_rng({values}).integers(-6, 7, {tuple(shape)!r}) "
                        f"/ 4.0).astype(DT))"), float(np.abs(arr).max(initial=0))
        return _const_literal(np.asarray(arr, "float64").reshape(-1), shape), float(np.abs(arr).max(initial=0))

    # ---- instructions ----------------------------------------------------------------------
    def unary(self, name=None, i=None):
        name = name or self.draw(st.sampled_from(UNARY))
        i = self.pick() if i is None else i
        if name == "exp":
            i = self.squash(i, 3.0)
        elif name == "square":
            i = self.squash(i, 30.0)
        v = self.pool[i]
        a = f"v{i}"
        if self.grad_mode and self.draw(st.integers(0, 9)) == 0:
            a = f"ops.stop_gradient({a})"
        if name == "exp":
            return self.emit(f"ops.exp({a})", Val(v.shape, math.exp(v.bound)))
        if name == "log1abs":
            return self.emit(f"ops.log(ops.abs({a}) + 1.0)", Val(v.shape, math.log1p(v.bound)))
        if name == "sqrtabs":
            shift = " + 0.5" if self.grad_mode else ""
            return self.emit(f"ops.sqrt(ops.abs({a}){shift})", Val(v.shape, math.sqrt(v.bound + 0.5)))
        bound = {"tanh": 1.0, "sigmoid": 1.0, "square": v.bound ** 2}.get(name, v.bound)
        return self.emit(f"ops.{name}({a})", Val(v.shape, bound, v.exact and name in EXACT_UNARY))

    def binary(self):
        name = self.draw(st.sampled_from(BINARY))
        i = self.pick()
        fits = [j for j in range(len(self.pool)) if (s := _bshape(self.pool[i].shape, self.pool[j].shape)) is not None
                and _size(s) <= self.max_size and len(s) <= MAX_RANK]
        if not fits:
            return self.unary(i=i)
        j = self.pick(fits)
        if name == "multiply" and self.pool[i].bound * self.pool[j].bound > BIG:
            i, j = self.squash(i, 1.0), self.squash(j, 30.0)
        a, b = self.pool[i], self.pool[j]
        shape = _bshape(a.shape, b.shape)
        style = self.draw(st.sampled_from(["call", "operator"]))
        sym = {"add": "+", "subtract": "-", "multiply": "*"}.get(name)
        if name == "divabs":
            return self.emit(f"ops.divide(v{i}, ops.abs(v{j}) + 1.0)", Val(shape, a.bound))
        expr = f"v{i} {sym} v{j}" if sym and style == "operator" else f"ops.{name}(v{i}, v{j})"
        bound = {"add": a.bound + b.bound, "subtract": a.bound + b.bound,
                 "multiply": a.bound * b.bound}.get(name, max(a.bound, b.bound))
        return self.emit(expr, Val(shape, bound, a.exact and b.exact and name in ("maximum", "minimum")))

    def scalar(self):
        i = self.squash(self.pick(), BIG / 4)
        v = self.pool[i]
        c = self.draw(st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.0, 1.5, 0, 1, 2]))
        form = self.draw(st.sampled_from(["x+c", "c+x", "x-c", "c-x", "x*c", "c*x", "x/c", "c/(|x|+1)",
                                          "add(x,c)", "multiply(c,x)", "maximum(x,c)", "minimum(c,x)"]))
        a = f"v{i}"
        if form == "x/c" and c == 0:
            c = 2.0
        expr = {"x+c": f"{a} + {c!r}", "c+x": f"{c!r} + {a}", "x-c": f"{a} - {c!r}", "c-x": f"{c!r} - {a}",
                "x*c": f"{a} * {c!r}", "c*x": f"{c!r} * {a}", "x/c": f"{a} / {c!r}",
                "c/(|x|+1)": f"ops.divide({c!r}, ops.abs({a}) + 1.0)", "add(x,c)": f"ops.add({a}, {c!r})",
                "multiply(c,x)": f"ops.multiply({c!r}, {a})", "maximum(x,c)": f"ops.maximum({a}, {c!r})",
                "minimum(c,x)": f"ops.minimum({c!r}, {a})"}[form]
        exact = v.exact and form in ("maximum(x,c)", "minimum(c,x)")
        return self.emit(expr, Val(v.shape, v.bound * 2 + 2, exact))

    def const(self):
        i = self.squash(self.pick(), BIG / 2)
        v = self.pool[i]
        tail = self.draw(st.integers(0, len(v.shape)))
        shape = list(v.shape[len(v.shape) - tail:])
        shape = [1 if self.draw(st.booleans()) else d for d in shape]
        if self.draw(st.integers(0, 3)) == 0 and len(v.shape) < MAX_RANK:
            shape = [1] + list(v.shape)  # a constant of higher rank: the broadcast grows x
        lit, cb = self.const_array(tuple(shape))
        name = self.draw(st.sampled_from(["add", "subtract", "multiply", "maximum", "minimum", "divabs"]))
        out = _bshape(v.shape, tuple(shape))
        if name == "divabs":
            return self.emit(f"ops.divide({lit}, ops.abs(v{i}) + 1.0)", Val(out, cb))
        left = self.draw(st.booleans())
        expr = f"ops.{name}({lit}, v{i})" if left else f"ops.{name}(v{i}, {lit})"
        bound = {"add": v.bound + cb, "subtract": v.bound + cb, "multiply": v.bound * cb}.get(name, max(v.bound, cb))
        return self.emit(expr, Val(out, bound))

    def where(self):
        exact = [k for k, v in enumerate(self.pool) if v.exact]
        i = self.pick(exact)
        a = self.pool[i]
        cmp = self.draw(st.sampled_from(COMPARISONS))
        partners = [k for k in exact if (s := _bshape(a.shape, self.pool[k].shape)) is not None
                    and _size(s) <= self.max_size and len(s) <= MAX_RANK]
        if self.draw(st.booleans()):
            rhs, rshape = repr(self.draw(st.sampled_from([0.0, 0.5, -0.5, 1]))), ()
        else:
            j = self.pick(partners)
            rhs, rshape = f"v{j}", self.pool[j].shape
        cshape = _bshape(a.shape, rshape)
        branches = []
        for _ in range(2):
            if self.draw(st.integers(0, 3)) == 0:
                branches.append((repr(self.draw(st.sampled_from([0.0, -1.0, 2.5]))), (), 2.5, True))
                continue
            sofar = _bshape(cshape, *[br[1] for br in branches])
            fits = [k for k in range(len(self.pool)) if (s := _bshape(sofar, self.pool[k].shape)) is not None
                    and _size(s) <= self.max_size and len(s) <= MAX_RANK]
            if not fits:
                return self.unary()
            k = self.pick(fits)
            branches.append((f"v{k}", self.pool[k].shape, self.pool[k].bound, self.pool[k].exact))
        shape = _bshape(cshape, branches[0][1], branches[1][1])
        (x, _, bx, ex), (y, _, by, ey) = branches
        return self.emit(f"ops.where(ops.{cmp}(v{i}, {rhs}), {x}, {y})", Val(shape, max(bx, by), ex and ey))

    def reduce(self):
        i = self.pick()
        v = self.pool[i]
        name = self.draw(st.sampled_from(["sum", "mean", "max", "sum", "mean", "max", "min"]))
        keepdims = self.draw(st.booleans())
        rank = len(v.shape)
        choices = [None] + list(range(rank)) + list(range(-rank, 0))
        if rank >= 2:
            choices.append((0, rank - 1))
        axis = self.draw(st.sampled_from(choices))
        axes = range(rank) if axis is None else [a % rank for a in (axis if isinstance(axis, tuple) else [axis])]
        count = _size([v.shape[a] for a in axes])
        if name == "sum" and v.bound * count > BIG:
            i = self.squash(i, 1.0)
            v = self.pool[i]
        shape = tuple(1 if d in axes else s for d, s in enumerate(v.shape) if keepdims or d not in axes)
        bound = v.bound * count if name == "sum" else v.bound
        return self.emit(f"ops.{name}(v{i}, axis={axis!r}, keepdims={keepdims!r})",
                         Val(shape, bound, v.exact and name in ("max", "min")))

    def reshape(self, i=None):
        i = self.pick() if i is None else i
        v = self.pool[i]
        size = _size(v.shape)
        divisors = [d for d in range(1, size + 1) if size % d == 0]
        d = self.draw(st.sampled_from(divisors))
        options = [(size,), (-1,), (1, size), (size, 1), (d, size // d), (d, -1), (-1, d), (1, d, size // d)]
        if len(v.shape) >= 1:
            options.append(tuple(reversed(v.shape)))
        how = self.draw(st.sampled_from(["reshape", "reshape", "expand_dims", "squeeze"]))
        if how == "expand_dims" and len(v.shape) < MAX_RANK:
            axis = self.draw(st.integers(-len(v.shape) - 1, len(v.shape)))
            real = list(v.shape)
            real.insert(axis % (len(v.shape) + 1), 1)
            return self.emit(f"ops.expand_dims(v{i}, {axis})", Val(real, v.bound, v.exact))
        if how == "squeeze" and 1 in v.shape:
            return self.emit(f"ops.squeeze(v{i})", Val([d for d in v.shape if d != 1], v.bound, v.exact))
        shape = self.draw(st.sampled_from(options))
        real = tuple(size // (-_size(shape)) if s == -1 else s for s in shape)
        return self.emit(f"ops.reshape(v{i}, {shape!r})", Val(real, v.bound, v.exact))

    def transpose(self, i=None):
        ranked = [k for k, v in enumerate(self.pool) if len(v.shape) >= 2]
        if i is not None and len(self.pool[i].shape) < 2:
            return self.reshape(i)
        if not ranked:
            return self.reshape()
        i = self.pick(ranked) if i is None else i
        v = self.pool[i]
        perm = tuple(self.draw(st.permutations(range(len(v.shape)))))
        if self.draw(st.booleans()) and len(v.shape) == 2:
            return self.emit(f"ops.transpose(v{i})", Val(v.shape[::-1], v.bound, v.exact))
        return self.emit(f"ops.transpose(v{i}, {perm!r})", Val(tuple(v.shape[p] for p in perm), v.bound, v.exact))

    def _matmul_pairs(self, linear):
        """(i, j, result shape) for the pool values that matmul: 2-D, batched 3-D (batches
        broadcast), vectors; for `linear`, a 2-D or 3-D x and a 2-D weight."""
        pairs = []
        for i, a in enumerate(self.pool):
            for j, b in enumerate(self.pool):
                if not a.shape or not b.shape or a.shape[-1] != b.shape[-2 if len(b.shape) > 1 else 0]:
                    continue
                if linear and (len(a.shape) < 2 or len(b.shape) != 2):
                    continue
                try:
                    shape = np.matmul(np.empty(a.shape, np.int8), np.empty(b.shape, np.int8)).shape
                except ValueError:
                    continue
                if _size(shape) <= self.max_size and len(shape) <= MAX_RANK:
                    pairs.append((i, j, shape))
        return pairs

    def matmul(self, linear=False):
        pairs = self._matmul_pairs(linear)
        if not pairs:
            return self.transpose()
        i, j, shape = pairs[len(pairs) - 1 - self.draw(st.integers(0, len(pairs) - 1))]
        k = self.pool[i].shape[-1]
        if self.pool[i].bound * self.pool[j].bound * k > BIG:
            i, j = self.squash(i, 1.0), self.squash(j, 1.0)
        a, b = self.pool[i], self.pool[j]
        bound = a.bound * b.bound * k
        if not linear:
            expr = f"v{i} @ v{j}" if self.draw(st.booleans()) else f"ops.matmul(v{i}, v{j})"
            return self.emit(expr, Val(shape, bound))
        # matmul + bias (+ activation): the epilogue pattern
        biases = [t for t, v in enumerate(self.pool) if v.shape == (shape[-1],)]
        if biases and self.draw(st.booleans()):
            t = self.pick(biases)
            bias, bb = f"v{t}", self.pool[t].bound
        else:
            bias, bb = self.const_array((shape[-1],))
        act = self.draw(st.sampled_from(ACTIVATIONS))
        mm = f"ops.matmul(v{i}, v{j})"
        s = f"{mm} + {bias}" if self.draw(st.booleans()) else f"ops.add({bias}, {mm})"
        if act is None:
            return self.emit(s, Val(shape, bound + bb))
        return self.emit(f"ops.{act}({s})", Val(shape, 1.0 if act != "relu" else bound + bb))

    def softmax(self):
        ranked = [k for k, v in enumerate(self.pool) if len(v.shape) >= 1]
        if not ranked:
            return self.unary()
        i = self.pick(ranked)
        rank = len(self.pool[i].shape)
        axis = self.draw(st.sampled_from([-1] + list(range(rank))))
        return self.emit(f"ops.softmax(v{i}, axis={axis})", Val(self.pool[i].shape, 1.0))

    def concat(self):
        ranked = [k for k, v in enumerate(self.pool) if len(v.shape) >= 1]
        if not ranked:
            return self.unary()
        i = self.pick(ranked)
        a = self.pool[i]
        axis = self.draw(st.integers(0, len(a.shape) - 1))
        partners = [k for k, b in enumerate(self.pool) if len(b.shape) == len(a.shape)
                    and all(x == y for d, (x, y) in enumerate(zip(a.shape, b.shape)) if d != axis)]
        parts = [i] + [self.pick(partners) for _ in range(self.draw(st.integers(1, 2)))]
        shape = list(a.shape)
        shape[axis] = sum(self.pool[k].shape[axis] for k in parts)
        if _size(shape) > self.max_size:
            parts, shape[axis] = parts[:1], a.shape[axis]
        ax = axis if self.draw(st.booleans()) else axis - len(a.shape)
        names = ", ".join(f"v{k}" for k in parts)
        return self.emit(f"ops.concatenate([{names}], axis={ax})",
                         Val(shape, max(self.pool[k].bound for k in parts), all(self.pool[k].exact for k in parts)))

    def slice(self, i=None):
        ranked = [k for k, v in enumerate(self.pool) if len(v.shape) >= 1]
        if i is not None and not self.pool[i].shape:
            return self.unary(i=i)
        if not ranked:
            return self.unary()
        i = self.pick(ranked) if i is None else i
        v = self.pool[i]
        parts, shape = [], []
        for d in v.shape:
            opts = [":", "::-1", "0", "-1"] + ([":-1", "1:", "::2", "1::2"] if d >= 2 else [])
            o = self.draw(st.sampled_from(opts))
            parts.append(o)
            if o not in ("0", "-1"):
                shape.append(len(range(d)[_parse_slice(o)]))
        full = len(parts)
        if self.draw(st.booleans()):  # trailing full slices dropped: x[1:] instead of x[1:, :]
            while parts and parts[-1] == ":":
                parts.pop()
        extra = self.draw(st.sampled_from(["", "", "", "None", "..."]))
        if extra and len(shape) < MAX_RANK:
            # an Ellipsis stands for the dropped axes only when it comes last
            at = self.draw(st.integers(0, len(parts))) if extra == "None" or len(parts) == full else len(parts)
            if extra == "None":
                shape.insert(sum(p not in ("0", "-1") for p in parts[:at]), 1)
            parts.insert(at, extra)
        key = ", ".join(parts) if parts else "..."
        return self.emit(f"v{i}[{key}]", Val(tuple(shape), v.bound, v.exact))

    def fold(self):
        """A value computed from constants only (folded before the graph runs)."""
        shape = self.draw(st.sampled_from([(), (1,), self.pool[0].shape, self.pool[0].shape[-1:]]))
        lit, cb = self.const_array(shape)
        u = self.draw(st.sampled_from(["tanh", "exp", "sigmoid", "square", "negative"]))
        bound = {"exp": math.exp(cb), "square": cb * cb, "tanh": 1.0, "sigmoid": 1.0}.get(u, cb)
        return self.emit(f"ops.{u}({lit}) * 0.5", Val(shape, bound * 0.5))

    def repeat(self):
        """The same expression again: a common subexpression."""
        if not self.pure:
            return self.unary()
        expr, val = self.pure[len(self.pure) - 1 - self.draw(st.integers(0, len(self.pure) - 1))]
        return self.emit(expr, val)

    def dead(self):
        """A value nothing reads (heavy, with its own fused chain)."""
        i = self.pick()
        k = self.emit(f"ops.exp(ops.tanh(v{i})) * 3.0 - ops.sigmoid(v{i})", Val(self.pool[i].shape, 10.0))
        self.dead_values.add(k)
        return k

    def step(self):
        kind = self.draw(st.sampled_from(KINDS))
        if kind == "linear":
            return self.matmul(linear=True)
        return getattr(self, kind)()


def _parse_slice(text):
    parts = [int(p) if p else None for p in text.split(":")]
    return slice(*parts)


def _indent(lines, n):
    return "\n".join(" " * n + line for line in lines)


@st.composite
def programs(draw, mode):
    """A program: dict with the source of `program(*inputs)` (using `V`, the variables, `DT`),
    the input shapes and the variables' initial values. mode: forward | grad | assign | train."""
    if draw(st.integers(0, 4)):
        m, n, p = (draw(st.sampled_from(sizes)) for sizes in ([1, 2, 3, 5], [1, 2, 4, 7], [1, 3, 6]))
    else:  # large: several blocks of the fused kernels (1024 elements), several threads; rows that
        # divide the block (128, 256: a bias block filled once) or not
        m, n, p = (draw(st.sampled_from(sizes)) for sizes in ([9, 33, 67], [128, 130, 257], [5, 16]))
    shapes = [(m, n)] + draw(st.lists(st.sampled_from([(m, n), (n,), (1, n), (m, 1), (), (n, p), (p,), (2, m, n)]),
                                      max_size=3))
    n_vars = {"forward": 0, "grad": draw(st.integers(0, 2)), "assign": draw(st.integers(1, 3)),
              "train": draw(st.integers(1, 3))}[mode]
    var_shapes = [draw(st.sampled_from([(m, n), (n,), (n, p), (p,)])) for _ in range(n_vars)]
    b = Builder(draw, grad_mode=mode in ("grad", "train"), max_size=max(MAX_SIZE, 2 * max(_size(s) for s in shapes)))
    b.dead_values = set()
    for i, s in enumerate(shapes):
        b.pool.append(Val(s, 2.0, exact=True, deps=frozenset([("x", i)])))
    # assigns: in "assign" mode, and in some "grad" programs (inside the tape)
    assigning = mode == "assign" or (mode == "grad" and n_vars > 0 and draw(st.booleans()))
    reads = {}
    var_reads = []  # pool entries that are a variable itself: they read its value when used
    for k, s in enumerate(var_shapes):  # the variables' values, read before any assign
        reads[k] = b.emit(f"V[{k}]", Val(s, VAR_BOUND, not assigning, frozenset([("V", k)])), pure=False)
        var_reads.append(reads[k])
    n_ops = draw(st.integers(2, 18))
    assigns = 0
    for _ in range(n_ops):
        if assigning and assigns < 3 and draw(st.integers(0, 3)) == 0:
            k = draw(st.integers(0, n_vars - 1))
            same = [i for i, v in enumerate(b.pool) if v.shape == var_shapes[k]]
            i = b.squash(b.pick(same), 2.0)
            how = draw(st.sampled_from(["assign_add", "assign_add", "assign_sub", "assign"]))
            value = f"v{i}"  # (it may depend on watched inputs: the tape must stop at the variable)
            b.lines.append(f"V[{k}].{how}({value})")
            reads[k] = b.emit(f"V[{k}]", Val(var_shapes[k], VAR_BOUND, False, frozenset([("V", k)])),
                              pure=False)  # read it again
            var_reads.append(reads[k])
            twins = [j for j in range(n_vars) if j != k and var_shapes[j] == var_shapes[k]]
            if mode == "assign" and twins and draw(st.booleans()):
                j = draw(st.sampled_from(twins))  # the new value copied to another variable too
                b.lines.append(f"V[{j}].assign(V[{k}])")
                reads[j] = b.emit(f"V[{j}]", Val(var_shapes[j], VAR_BOUND, False, frozenset([("V", j)])), pure=False)
                var_reads.append(reads[j])
            b.pure = []  # an expression repeated after an assign may read a new value
            assigns += 1
        elif mode == "assign" and draw(st.integers(0, 5)) == 0:
            # a view or copy of a variable's current value (may be read after a later assign)
            i = reads[draw(st.integers(0, n_vars - 1))]
            getattr(b, draw(st.sampled_from(["reshape", "slice", "transpose", "unary"])))(i=i)
        else:
            b.step()
    live = [i for i in range(len(shapes), len(b.pool)) if i not in b.dead_values] or [len(b.pool) - 1]
    outs = [b.pick(live) for _ in range(draw(st.integers(1, 3)))]
    if draw(st.integers(0, 7)) == 0:  # an input or a repeated result among the results
        outs.append(draw(st.sampled_from(list(range(len(shapes))) + outs)))
    seeds = [draw(st.integers(0, 2**31 - 1)) for _ in range(2)]
    grid = draw(st.booleans())  # inputs on a grid of 1/8: ties, exact zeros
    args = ", ".join(f"v{i}" for i in range(len(shapes)))
    body = list(b.lines)
    result = ", ".join(f"v{i}" for i in outs)
    weights = [f"W{k}" for k in range(len(outs))]
    if mode in ("forward", "assign"):
        src = f"def program({args}):\n{_indent(body, 4)}\n    return [{result}]\n"
    else:
        loss = " + ".join(f"ops.sum(v{i} * {w})" for i, w in zip(outs, weights))
        sources = ", ".join([f"v{i}" for i in range(len(shapes))] + [f"V[{k}]" for k in range(n_vars)])
        watch = [f"tape.watch(v{i})" for i in range(len(shapes))]
        src = (f"def program({args}):\n    with lk.GradientTape() as tape:\n{_indent(watch + body, 8)}\n"
               f"        loss = {loss}\n    grads = tape.gradient(loss, [{sources}])\n")
        if mode == "grad":
            src += f"    return [{result}], loss, grads\n"
        else:  # a training step: update the variables from their gradients, then read them again
            tail = []
            for k in range(n_vars):
                g = f"grads[{len(shapes) + k}]"
                lr = draw(st.sampled_from([0.1, 0.25]))
                tail += [f"if {g} is not None:", f"    V[{k}].assign_sub({lr!r} * ops.tanh({g}))"]
            base = len(b.pool)
            for i in var_reads:  # the variables read before now hold their updated values
                b.pool[i].exact = False
            for k in range(n_vars):
                b.emit(f"V[{k}]", Val(var_shapes[k], VAR_BOUND, False, frozenset([("V", k)])), pure=False)
            b.pure = []
            for _ in range(draw(st.integers(0, 4))):
                b.step()
            tail += b.lines[len(body):]
            more = ", ".join(f"v{i}" for i in range(base, len(b.pool)) if i not in b.dead_values)
            src += f"{_indent(tail, 4)}\n    return [{result}], loss, grads, [{more}]\n"
    return {"source": src, "shapes": shapes, "var_shapes": var_shapes, "seeds": seeds, "grid": grid,
            "n_weights": len(outs), "out_shapes": [b.pool[i].shape for i in outs]}


# ---- running and comparing -----------------------------------------------------------------------
def _inputs(prog, call):
    rng = np.random.default_rng(prog["seeds"][0] + 1000 * call)
    arrays = []
    for s in prog["shapes"]:
        a = rng.uniform(-2.0, 2.0, s)
        if prog["grid"]:
            a = np.round(a * 8) / 8
        arrays.append(np.asarray(a, "float32"))
    return arrays


def _namespace(prog, dtype):
    rng = np.random.default_rng(prog["seeds"][1])
    ns = {"ops": ops, "lk": lk, "np": np, "DT": dtype,
          "V": [lk.Variable(np.asarray(np.round(rng.uniform(-2, 2, s) * 8) / 8, dtype)) for s in prog["var_shapes"]]}
    for k, s in enumerate(prog["out_shapes"]):
        ns[f"W{k}"] = lk.convert_to_tensor(np.asarray(rng.integers(-4, 5, s) / 4.0, dtype))
    exec(prog["source"], ns)  # noqa: S102 - the generated program
    return ns


def _flat(result):
    """The leaves of a program's results as numpy copies (None stays None)."""
    if result is None:
        return [None]
    if isinstance(result, (list, tuple)):
        return [x for r in result for x in _flat(r)]
    return [np.array(result)]


def _layout(a, k):
    if a.ndim == 0 or k % 3 == 0:
        return lk.convert_to_tensor(a)
    if k % 3 == 1 and a.ndim >= 2:
        return np.asfortranarray(a)
    wide = np.repeat(a, 2, axis=-1)
    return wide[..., ::2]  # a view with a stride of 2 over `wide`, equal to a


def _run(prog, dtype, compiled, calls=2):
    """Per call: (result leaves, variable values); plus the compiled first call's results as
    returned (not copied), to check a later call does not overwrite them."""
    ns = _namespace(prog, dtype)
    fn = lk.function(ns["program"]) if compiled else ns["program"]
    history, kept = [], None
    for call in range(calls):
        arrays = [a.astype(dtype) for a in _inputs(prog, call)]
        before = [a.copy() for a in arrays]
        if not compiled:
            out = fn(*[lk.convert_to_tensor(a) for a in arrays])
        elif call == 0:
            out = fn(*arrays)
        else:  # the same values in other layouts: tensors, Fortran order, strided views
            out = fn(*[_layout(a, k) for k, a in enumerate(arrays)])
        history.append((_flat(out), [np.array(v) for v in ns["V"]]))
        for a, b in zip(arrays, before):
            assert np.array_equal(a, b), "the function wrote into its input array"
        if call == 0 and compiled:
            kept = out
    return history, kept, ns


def _where(prog, what):
    return f"{what}\n--- program (inputs: shapes {prog['shapes']}, variables {prog['var_shapes']}) ---\n" \
           f"{prog['source']}"


def _compare(prog, dtype, got, exp, other, what):
    compare(lambda message: _where(prog, message), dtype, got, exp, other, what)


def check_program(prog, dtype, calls=2):
    other_dtype = "float64" if dtype == "float32" else "float32"
    try:
        eager, _, _ = _run(prog, dtype, compiled=False, calls=calls)
    except RuntimeError as e:  # not a valid program: eagerly, a gradient through an overwritten value
        assume("was assigned after the tape recorded" not in str(e))
        raise
    for outs, vars_ in eager:
        assume(all(o is None or np.all(np.isfinite(o)) for o in outs + vars_))
    other, _, _ = _run(prog, other_dtype, compiled=False, calls=calls)
    compiled, kept, _ = _run(prog, dtype, compiled=True, calls=calls)
    for call, ((go, gv), (eo, ev), (oo, ov)) in enumerate(zip(compiled, eager, other)):
        assert len(go) == len(eo), _where(prog, f"call {call + 1}: {len(go)} results compiled, {len(eo)} eager")
        for k, (g, e, o) in enumerate(zip(go, eo, oo)):
            _compare(prog, dtype, g, e, o, f"call {call + 1}, result leaf {k}")
        for k, (g, e, o) in enumerate(zip(gv, ev, ov)):
            _compare(prog, dtype, g, e, o, f"call {call + 1}, variable V[{k}]")
    # the first call's results, as returned (no copy), are still the first call's results
    def leaves(r):
        if isinstance(r, (list, tuple)):
            return [x for y in r for x in leaves(y)]
        return [r]
    for k, (r, e, o) in enumerate(zip(leaves(kept), eager[0][0], other[0][0])):
        if r is not None:
            _compare(prog, dtype, np.array(r), e, o, f"call 1 result leaf {k} read again after call 2")


# ---- the tests -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=400, **SETTINGS)
@given(prog=programs("forward"))
def test_random_programs_compiled_equal_eager(prog, dtype):
    check_program(prog, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=350, **SETTINGS)
@given(prog=programs("grad"))
def test_random_programs_gradients_compiled_equal_eager(prog, dtype):
    check_program(prog, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=300, **SETTINGS)
@given(prog=programs("assign"))
def test_random_programs_assigning_variables_compiled_equal_eager(prog, dtype):
    check_program(prog, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=200, **SETTINGS)
@given(prog=programs("train"))
def test_random_training_steps_compiled_equal_eager(prog, dtype):
    check_program(prog, dtype)


@settings(max_examples=100, **SETTINGS)
@given(prog=programs("grad"), dtype=st.sampled_from(["float32", "float64"]))
def test_random_programs_at_every_simd_level(isa_level, prog, dtype):
    """Eager and compiled on each SIMD level's kernels (the fixture skips levels this CPU lacks)."""
    check_program(prog, dtype)
