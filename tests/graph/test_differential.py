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
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import layerkit as lk
from layerkit import ops

SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
TOL = {"float32": 1e-5, "float64": 1e-10}
EPS_RATIO = np.finfo(np.float64).eps / np.finfo(np.float32).eps
SLACK = 8.0  # multiples of the float32-vs-float64 disagreement allowed on top of TOL
MAX_SIZE = 80  # elements of any generated value (inputs have at most 70)
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

    def __init__(self, shape, bound, exact=False):
        self.shape, self.bound, self.exact = tuple(shape), float(bound), exact


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

    def __init__(self, draw, grad_mode):
        self.draw, self.grad_mode = draw, grad_mode
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
                and _size(s) <= MAX_SIZE and len(s) <= MAX_RANK]
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
                    and _size(s) <= MAX_SIZE and len(s) <= MAX_RANK]
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
                    and _size(s) <= MAX_SIZE and len(s) <= MAX_RANK]
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
        name = self.draw(st.sampled_from(["sum", "mean", "max"]))
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
                         Val(shape, bound, v.exact and name == "max"))

    def reshape(self):
        i = self.pick()
        v = self.pool[i]
        size = _size(v.shape)
        divisors = [d for d in range(1, size + 1) if size % d == 0]
        d = self.draw(st.sampled_from(divisors))
        options = [(size,), (-1,), (1, size), (size, 1), (d, size // d), (d, -1), (-1, d), (1, d, size // d)]
        if len(v.shape) >= 1:
            options.append(tuple(reversed(v.shape)))
        shape = self.draw(st.sampled_from(options))
        real = tuple(size // (-_size(shape)) if s == -1 else s for s in shape)
        return self.emit(f"ops.reshape(v{i}, {shape!r})", Val(real, v.bound, v.exact))

    def transpose(self):
        ranked = [k for k, v in enumerate(self.pool) if len(v.shape) >= 2]
        if not ranked:
            return self.reshape()
        i = self.pick(ranked)
        v = self.pool[i]
        perm = tuple(self.draw(st.permutations(range(len(v.shape)))))
        if self.draw(st.booleans()) and len(v.shape) == 2:
            return self.emit(f"ops.transpose(v{i})", Val(v.shape[::-1], v.bound, v.exact))
        return self.emit(f"ops.transpose(v{i}, {perm!r})", Val(tuple(v.shape[p] for p in perm), v.bound, v.exact))

    def _matmul_pairs(self):
        return [(i, j) for i, a in enumerate(self.pool) for j, b in enumerate(self.pool)
                if len(a.shape) == 2 and len(b.shape) == 2 and a.shape[1] == b.shape[0]]

    def matmul(self, linear=False):
        pairs = self._matmul_pairs()
        if not pairs:
            return self.transpose()
        i, j = pairs[len(pairs) - 1 - self.draw(st.integers(0, len(pairs) - 1))]
        k = self.pool[i].shape[1]
        if self.pool[i].bound * self.pool[j].bound * k > BIG:
            i, j = self.squash(i, 1.0), self.squash(j, 1.0)
        a, b = self.pool[i], self.pool[j]
        shape = (a.shape[0], b.shape[1])
        bound = a.bound * b.bound * k
        if not linear:
            expr = f"v{i} @ v{j}" if self.draw(st.booleans()) else f"ops.matmul(v{i}, v{j})"
            return self.emit(expr, Val(shape, bound))
        # matmul + bias (+ activation): the epilogue pattern
        biases = [t for t, v in enumerate(self.pool) if v.shape == (shape[1],)]
        if biases and self.draw(st.booleans()):
            t = self.pick(biases)
            bias, bb = f"v{t}", self.pool[t].bound
        else:
            bias, bb = self.const_array((shape[1],))
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
                    and all(x == y for d, (x, y) in enumerate(zip(a.shape, b.shape)) if d != axis)
                    and _size(a.shape) + _size(b.shape) <= MAX_SIZE]
        if not partners:
            return self.unary()
        j = self.pick(partners)
        b = self.pool[j]
        shape = tuple(x + y if d == axis else x for d, (x, y) in enumerate(zip(a.shape, b.shape)))
        ax = axis if self.draw(st.booleans()) else axis - len(a.shape)
        return self.emit(f"ops.concatenate([v{i}, v{j}], axis={ax})",
                         Val(shape, max(a.bound, b.bound), a.exact and b.exact))

    def slice(self):
        ranked = [k for k, v in enumerate(self.pool) if len(v.shape) >= 1]
        if not ranked:
            return self.unary()
        i = self.pick(ranked)
        v = self.pool[i]
        parts, shape = [], []
        for d in v.shape:
            opts = [":", "::-1", "0", "-1"] + ([":-1", "1:", "::2", "1::2"] if d >= 2 else [])
            o = self.draw(st.sampled_from(opts))
            parts.append(o)
            if o not in ("0", "-1"):
                shape.append(len(range(d)[_parse_slice(o)]))
        if self.draw(st.booleans()):  # trailing full slices dropped: x[1:] instead of x[1:, :]
            while parts and parts[-1] == ":":
                parts.pop()
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
    m = draw(st.sampled_from([1, 2, 3, 5]))
    n = draw(st.sampled_from([1, 2, 4, 7]))
    p = draw(st.sampled_from([1, 3, 6]))
    shapes = [(m, n)] + draw(st.lists(st.sampled_from([(m, n), (n,), (1, n), (m, 1), (), (n, p), (p,), (2, m, n)]),
                                      max_size=3))
    n_vars = {"forward": 0, "grad": draw(st.integers(0, 2)), "assign": draw(st.integers(1, 3)),
              "train": draw(st.integers(1, 3))}[mode]
    var_shapes = [draw(st.sampled_from([(m, n), (n,), (n, p), (p,)])) for _ in range(n_vars)]
    b = Builder(draw, grad_mode=mode in ("grad", "train"))
    b.dead_values = set()
    for s in shapes:
        b.pool.append(Val(s, 2.0, exact=True))
    for k, s in enumerate(var_shapes):  # the variables' values, read before any assign
        b.emit(f"V[{k}]", Val(s, VAR_BOUND, exact=mode != "assign"), pure=False)
    n_ops = draw(st.integers(2, 18))
    assigns = 0
    for _ in range(n_ops):
        if mode == "assign" and assigns < 3 and draw(st.integers(0, 3)) == 0:
            k = draw(st.integers(0, n_vars - 1))
            same = [i for i, v in enumerate(b.pool) if v.shape == var_shapes[k]]
            i = b.squash(b.pick(same), 2.0)
            how = draw(st.sampled_from(["assign_add", "assign_add", "assign_sub", "assign"]))
            b.lines.append(f"V[{k}].{how}(v{i})")
            b.emit(f"V[{k}]", Val(var_shapes[k], VAR_BOUND), pure=False)  # read it again
            b.pure = []  # an expression repeated after an assign may read a new value
            assigns += 1
        else:
            b.step()
    live = [i for i in range(len(shapes), len(b.pool)) if i not in b.dead_values] or [len(b.pool) - 1]
    outs = sorted(set(b.pick(live) for _ in range(draw(st.integers(1, 3)))))
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
            for k in range(n_vars):
                b.emit(f"V[{k}]", Val(var_shapes[k], VAR_BOUND), pure=False)
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


def _run(prog, dtype, compiled, calls=2):
    """Per call: (result leaves, variable values); plus the compiled first call's results as
    returned (not copied), to check a later call does not overwrite them."""
    ns = _namespace(prog, dtype)
    fn = lk.function(ns["program"]) if compiled else ns["program"]
    history, kept = [], None
    for call in range(calls):
        arrays = [a.astype(dtype) for a in _inputs(prog, call)]
        before = [a.copy() for a in arrays]
        out = fn(*arrays) if compiled else fn(*[lk.convert_to_tensor(a) for a in arrays])
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
    if exp is None or got is None:
        assert got is None and exp is None, _where(prog, f"{what}: compiled {got!r}, eager {exp!r}")
        return
    assert got.shape == exp.shape and got.dtype == exp.dtype, \
        _where(prog, f"{what}: compiled {got.shape} {got.dtype}, eager {exp.shape} {exp.dtype}")
    tol = TOL[dtype]
    e64 = exp.astype("float64")
    d = np.abs(other.astype("float64") - e64)
    slack = SLACK * d * (1.0 if dtype == "float32" else EPS_RATIO)
    allowed = tol + tol * np.abs(e64) + slack
    err = np.abs(got.astype("float64") - e64)
    bad = ~(err <= allowed)
    if bad.any():
        k = np.flatnonzero(bad)[0]
        raise AssertionError(_where(prog, f"{what} ({dtype}): {bad.sum()} of {bad.size} elements differ; first at "
                                          f"flat index {k}: compiled {got.reshape(-1)[k]!r}, eager "
                                          f"{exp.reshape(-1)[k]!r} (other dtype eager {other.reshape(-1)[k]!r})"
                                          f"\ncompiled:\n{got}\neager:\n{exp}"))


def check_program(prog, dtype, calls=2):
    other_dtype = "float64" if dtype == "float32" else "float32"
    eager, _, _ = _run(prog, dtype, compiled=False, calls=calls)
    for outs, vars_ in eager:
        assume(all(o is None or np.all(np.isfinite(o)) for o in outs + vars_))
    other, _, _ = _run(prog, other_dtype, compiled=False, calls=calls)
    compiled, kept, ns = _run(prog, dtype, compiled=True, calls=calls)
    for call, ((go, gv), (eo, ev), (oo, ov)) in enumerate(zip(compiled, eager, other)):
        assert len(go) == len(eo), _where(prog, f"call {call + 1}: {len(go)} results compiled, {len(eo)} eager")
        for k, (g, e, o) in enumerate(zip(go, eo, oo)):
            _compare(prog, dtype, g, e, o, f"call {call + 1}, result leaf {k}")
        for k, (g, e, o) in enumerate(zip(gv, ev, ov)):
            _compare(prog, dtype, g, e, o, f"call {call + 1}, variable V[{k}]")
    # the first call's results, as returned, are still the first call's results
    variables = {id(v) for v in ns["V"]}

    def leaves(r):
        if isinstance(r, (list, tuple)):
            return [x for y in r for x in leaves(y)]
        return [r]
    for k, (r, e, o) in enumerate(zip(leaves(kept), eager[0][0], other[0][0])):
        if r is not None and id(r) not in variables:
            _compare(prog, dtype, np.array(r), e, o, f"call 1 result leaf {k} read again after call 2")


# ---- the tests -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=600, **SETTINGS)
@given(prog=programs("forward"))
def test_random_programs_compiled_equal_eager(prog, dtype):
    check_program(prog, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=500, **SETTINGS)
@given(prog=programs("grad"))
def test_random_programs_gradients_compiled_equal_eager(prog, dtype):
    check_program(prog, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=400, **SETTINGS)
@given(prog=programs("assign"))
def test_random_programs_assigning_variables_compiled_equal_eager(prog, dtype):
    check_program(prog, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=300, **SETTINGS)
@given(prog=programs("train"))
def test_random_training_steps_compiled_equal_eager(prog, dtype):
    check_program(prog, dtype)
