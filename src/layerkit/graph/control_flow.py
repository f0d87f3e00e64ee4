"""Control flow as graph nodes: `while_loop` on symbolic values traces its condition and body
into subgraphs, and one WHILE node runs them until the condition fails; `scan` traces its step
into one SCAN node that runs it once per element of its sequences; `cond` traces both branches
and one COND node runs the one its predicate picks.

A loop node's value is the tuple of its results; TUPLE_GET nodes pick its elements, so the
single-output IR needs no special case. Tensors the condition or body read from the enclosing
function (closures) become extra inputs of the node, and so do the variables they read (a
scan's gradient reaches them through those inputs; the loop's own plans then read nothing but
their arguments, so the native executor runs them by pointer).

SCAN is differentiable: it also returns the carry that entered every step, and its gradient
is a second scan, in the opposite direction, whose step re-runs the forward step under a
gradient tape and takes its vector-Jacobian product. The step's elementwise intermediates are
recomputed there (cheap, and fused); the results of its matrix products are not: when a tape is
recording as the scan is traced, the forward step also returns them (its residuals, stacked like
its outputs) and the backward step's replay of the forward step takes them instead of computing
them again (_ReplayTracer). That gradient is itself a scan, so it differentiates again.
"""
import numpy as np

from layerkit.graph.passes import optimize
from layerkit.graph.trace import Tracer, _is_variable, build_graph
from layerkit.ops.primitive import TRACE, TupleGrad, apply, register
from layerkit.ops.tensor import SymbolicTensor
from layerkit.utils import tree


def _while_forward(*arrays, cond_plan, body_plan, n_vars, cond_free, body_free, maximum_iterations):
    vals = list(arrays[:n_vars])
    free = arrays[n_vars:]
    cond_extra = [free[i] for i in cond_free]
    body_extra = [free[i] for i in body_free]
    i = 0
    while maximum_iterations is None or i < maximum_iterations:
        if not bool(cond_plan.run(vals + cond_extra)[0]._data):
            break
        vals = [t._data for t in body_plan.run(vals + body_extra)]
        i += 1
    return vals


def _not_differentiable(ctx, g):
    raise ValueError("while_loop is not reverse-differentiable inside a traced function: its trip count depends "
                     "on data. Use lk.ops.scan or lk.ops.fori_loop with static bounds for loops you "
                     "differentiate.")


WHILE = register("while", forward=_while_forward, infer=lambda *a, **k: ((), "bool"), grad=_not_differentiable)
TUPLE_GET = register("tuple_get", forward=lambda t, index, shape, dtype: t[index],
                     infer=lambda t, index, shape, dtype: (shape, dtype),
                     grad=lambda ctx, g: (TupleGrad(ctx.attrs["index"], g),))


class _CaptureTracer(Tracer):
    """The tracer of a scan's step: each variable the step reads becomes a placeholder, bound
    to the variable's value in the enclosing trace as an extra input of the loop node (so the
    enclosing tape sees the dependence and its gradient reaches the variable)."""

    def __init__(self):
        super().__init__()
        self.captured = {}  # id(variable) -> (variable, placeholder)

    def capture(self, variable):
        entry = self.captured.get(id(variable))
        if entry is None:
            entry = self.captured[id(variable)] = (variable, SymbolicTensor(tuple(variable.shape), variable.dtype))
        return entry[1]

    def read(self, x):
        if _is_variable(x):
            return self.current[id(x)] if id(x) in self.current else self.capture(x)
        return x


def _subgraph(fn, specs, loop="while_loop", capture_variables=False):
    """(native plan, free tensors it reads, flat results) of `fn` traced on placeholders for
    `specs`. With `capture_variables`, the variables it reads are free inputs too: the free list
    holds the variable itself (see _CaptureTracer)."""
    from layerkit.graph.native import make_plan

    placeholders = [SymbolicTensor(s.shape, s.dtype) for s in specs]
    inner = _CaptureTracer() if capture_variables else Tracer()
    outer, saved = TRACE.tracer, list(TRACE.recorders)
    TRACE.tracer = inner
    TRACE.recorders.clear()  # the enclosing tapes must not see the loop body's placeholders
    try:
        results = fn(*placeholders)
    finally:
        TRACE.tracer = outer
        TRACE.recorders.extend(saved)
    if inner.updates:
        what = "the branches" if loop == "cond" else "the loop's functions"
        raise ValueError(f"{loop}: {what} must not assign variables inside a traced function.")
    flat = tree.flatten(results)
    graph, _, free = build_graph(flat, placeholders, (), inner.order, allow_free=True)
    if capture_variables:
        variable_of = {id(p): v for v, p in inner.captured.values()}
        free = [variable_of.get(id(t), t) for t in free]
    return make_plan(optimize(graph)), free, flat


def _merge_free(*lists):
    """The free inputs of a node whose plans read `lists` of them: (each once, in order of first
    use; per list, the positions of its entries in that merged list)."""
    free = []
    for x in (x for lst in lists for x in lst):
        if not any(x is y for y in free):
            free.append(x)
    index = {id(x): k for k, x in enumerate(free)}
    return free, [tuple(index[id(x)] for x in lst) for lst in lists]


def while_loop(tracer, cond, body, loop_vars, maximum_iterations):
    """`lk.ops.while_loop` on symbolic values: one WHILE node over the flattened loop variables
    (nested structures allowed). `body` returns a list of the loop variables. Returns the final
    loop variables, a list in `loop_vars`'s structure."""
    from layerkit.ops import convert_to_tensor, not_equal

    structure = list(loop_vars)
    leaves = [tracer.read(convert_to_tensor(v)) for v in tree.flatten(structure)]

    def unflat(*v):
        return tree.pack_sequence_as(structure, list(v))

    def flat_cond(*v):
        c = convert_to_tensor(cond(*unflat(*v)))
        if any(d != 1 for d in c.shape):
            raise ValueError(f"while_loop: the condition must return a scalar (one element), received shape "
                             f"{tuple(c.shape)}.")
        return c if c.dtype == "bool" else not_equal(c, 0)

    def flat_body(*v):
        out = list(body(*unflat(*v)))
        if tree.structure(out) != tree.structure(structure):
            raise ValueError("while_loop: the body must return loop variables in the structure it received: "
                             f"{_describe(structure)} -> {_describe(out)}.")
        return [convert_to_tensor(x) for x in tree.flatten(out)]
    cond_plan, cond_free, _ = _subgraph(flat_cond, leaves, capture_variables=True)
    body_plan, body_free, results = _subgraph(flat_body, leaves, capture_variables=True)
    if any(tuple(r.shape) != tuple(v.shape) or r.dtype != v.dtype for r, v in zip(results, leaves)):
        raise ValueError("while_loop: the body must return loop variables of the same shapes and dtypes it "
                         f"received: {[(v.shape, v.dtype) for v in leaves]} -> "
                         f"{[(r.shape, r.dtype) for r in results]}.")
    free, (cond_at, body_at) = _merge_free(cond_free, body_free)
    attrs = {"cond_plan": cond_plan, "body_plan": body_plan, "n_vars": len(leaves), "cond_free": cond_at,
             "body_free": body_at, "maximum_iterations": maximum_iterations}
    loop = tracer.apply(WHILE, tuple(leaves) + tuple(free), attrs)
    return unflat(*[tracer.apply(TUPLE_GET, (loop,), {"index": i, "shape": tuple(v.shape), "dtype": v.dtype})
                    for i, v in enumerate(leaves)])


# ---- scan ----------------------------------------------------------------------------------------
# ops whose results a scan's forward step saves for its gradient rather than have it recompute
# them: the products (an elementwise op is cheaper to recompute, fused, than to write and read)
_SAVED_OPS = {"matmul", "linear", "conv2d", "conv2d_bias", "depthwise_conv2d"}


class _ReplayMismatch(Exception):
    """The step applied other ops than when its residuals were saved."""


class _ReplayTracer:
    """Traces the forward step again inside a scan's backward step: the ops whose results were
    saved (`saved`: their positions among the step's symbolic ops -> the placeholder holding
    the result) yield that placeholder instead of a new node, the others are traced again. Only
    the tapes opened during the replay record the saved ops (with the placeholder as their
    output, so gradient rules read the saved value): tapes already recording, which
    differentiate the backward step itself, must see those values as the inputs they are there."""

    def __init__(self, parent, saved, ops):
        self.parent, self.saved, self.ops, self.applied = parent, saved, ops, 0
        self.current, self.updates, self.order = parent.current, parent.updates, parent.order
        self.assigned = parent.assigned
        self.outer = list(TRACE.recorders)
        self.inputs_at = {}  # position of a saved op -> its inputs in this replay

    def read(self, x):
        return self.parent.read(x)

    def capture(self, variable):
        return self.parent.capture(variable)

    def assign(self, variable, value):
        raise _ReplayMismatch()

    def while_loop(self, *args):
        raise _ReplayMismatch()

    def scan(self, *args):
        raise _ReplayMismatch()

    def cond(self, *args):
        raise _ReplayMismatch()

    def apply(self, op, inputs, attrs):
        inputs = tuple(self.read(x) for x in inputs)
        if not any(isinstance(x, SymbolicTensor) or _is_variable(x) for x in inputs):
            return self.parent.apply(op, inputs, attrs)  # constants only: computed now, as at first
        k = self.applied
        self.applied += 1
        if k >= len(self.ops) or self.ops[k] != op.name:
            raise _ReplayMismatch()
        if k not in self.saved:
            return self.parent.apply(op, inputs, attrs)
        out = self.saved[k]
        self.inputs_at[k] = inputs
        for r in TRACE.recorders:
            if not any(r is o for o in self.outer):
                r.record(op, inputs, attrs, out)
        return out


def _scan_forward(*arrays, body_plan, n_carry, n_xs, length, reverse, **_):
    carries = list(arrays[:n_carry])
    xs = arrays[n_carry:n_carry + n_xs]
    free = list(arrays[n_carry + n_xs:])
    history = [np.empty((length,) + c.shape, c.dtype) for c in carries]
    ys = None
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        for h, c in zip(history, carries):
            h[i] = c
        results = [t._data for t in body_plan.run(carries + [x[i, ...] for x in xs] + free)]  # 0-d views too
        carries = results[:n_carry]
        if ys is None:
            ys = [np.empty((length,) + y.shape, y.dtype) for y in results[n_carry:]]
        for y, r in zip(ys, results[n_carry:]):
            y[i] = r
    return tuple(carries) + tuple(ys) + tuple(history)


def _is_float(t):
    return t.dtype in ("float32", "float64")


class _HoistFailed(Exception):
    """A backward step that hoists weight gradients could not replay the forward step."""


def _scan_grad(ctx, g):
    """The gradient of a scan: a scan the other way over (the carry that entered each step, its
    inputs, the gradients of its outputs, its saved products), carrying the gradient of the carry
    and the running sum of the free inputs' gradients; its step is the forward step's
    vector-Jacobian product (the step replayed under a tape onto its saved products, or
    recomputed).

    A weight the step reads only as the right operand of matrix products (an RNN cell's kernels)
    gets no running sum: the backward step returns each product's left operand and gradient,
    stacked over the steps, and the weight's gradient is one GEMM over all of them after the
    loop, as the fused LSTM/GRU kernels do, where a sum would add a small GEMM per step."""
    try:
        return _scan_grad_impl(ctx, g, hoist=True)
    except _HoistFailed:  # the replay needs the saved products: sum the weights' gradients per step
        return _scan_grad_impl(ctx, g, hoist=False)


def _scan_grad_impl(ctx, g, hoist):
    from layerkit.autodiff.tape import GradientTape
    from layerkit.ops import add, reshape, zeros_like
    from layerkit.ops.control_flow import scan
    from layerkit.ops.linalg import matmul_raw

    a = ctx.attrs
    n_carry, n_xs, step, length = a["n_carry"], a["n_xs"], a["step"], a["length"]
    res_at = a["res_at"]  # positions of the saved results among the step's symbolic ops
    carries, xs = ctx.inputs[:n_carry], ctx.inputs[n_carry:n_carry + n_xs]
    free = ctx.inputs[n_carry + n_xs:]
    g = g if isinstance(g, dict) else {}

    def element(index, shape, dtype):
        return apply(TUPLE_GET, ctx.output, index=index, shape=tuple(shape), dtype=dtype)
    outs = [element(n_carry + j, shape, dtype) for j, (shape, dtype) in enumerate(a["y_specs"])]
    n_res = len(res_at)
    n_ys = len(outs) - n_res
    ys, residuals = outs[:n_ys], outs[n_ys:]
    history = [element(n_carry + len(outs) + k, (length,) + tuple(c.shape), c.dtype) for k, c in enumerate(carries)]
    fc = [k for k, c in enumerate(carries) if _is_float(c)]  # the differentiated inputs and outputs
    fx = [k for k, x in enumerate(xs) if _is_float(x)]
    fy = [j for j, y in enumerate(ys) if _is_float(y)]
    # the weights whose gradient is one GEMM after the loop: free index -> positions of its products
    hoisted = {k: ps for k, ps in a.get("hoist", {}).items() if _is_float(free[k])} if hoist and n_res else {}
    products = [p for k in sorted(hoisted) for p in hoisted[k]]
    ff = [k for k, f in enumerate(free) if _is_float(f) and k not in hoisted]
    d_final = [g[k] if g.get(k) is not None else zeros_like(carries[k]) for k in fc]
    d_ys = [g[n_carry + j] if g.get(n_carry + j) is not None else zeros_like(ys[j]) for j in fy]
    # the history and the residuals are read by a gradient of this scan (a second derivative):
    # what reaches the history adds to the gradient of the carry entering each step, what
    # reaches a residual flows back from that saved result
    hist_at = n_carry + len(outs)
    fh = [i for i, k in enumerate(fc) if g.get(hist_at + k) is not None]
    d_hist = [g[hist_at + fc[i]] for i in fh]
    fr = [j for j in range(n_res) if g.get(n_carry + n_ys + j) is not None]
    d_res = [g[n_carry + n_ys + j] for j in fr]
    n_fc, n_fx, n_dy, n_dh = len(fc), len(fx), len(d_ys), len(d_hist)

    def backward_step(carry, inputs):
        d_carry, d_free = carry[:n_fc], carry[n_fc:]
        carry_t, x_t = inputs[:n_carry], inputs[n_carry:n_carry + n_xs]
        at = n_carry + n_xs
        dy_t, dh_t = inputs[at:at + n_dy], inputs[at + n_dy:at + n_dy + n_dh]
        res_t, dres_t = inputs[at + n_dy + n_dh:at + n_dy + n_dh + n_res], inputs[at + n_dy + n_dh + n_res:]
        tracer = TRACE.tracer  # this step's _CaptureTracer: a variable read inside is its placeholder
        bound = [tracer.capture(v) if _is_variable(v) else v for v in a["free_sources"]]
        saved = dict(zip(res_at, res_t))
        # a hoisted weight's products: their saved results are sources (their gradients leave the step)
        sources = [carry_t[k] for k in fc] + [x_t[k] for k in fx] + [bound[k] for k in ff] + [
            saved[p] for p in products]

        def forward_under_tape(replay):
            TRACE.tracer = replay or tracer
            try:
                with GradientTape(watch_accessed_variables=False) as tape:
                    tape.watch(sources)
                    new_carry, y = step(list(carry_t), list(x_t))
            finally:
                TRACE.tracer = tracer
            if replay is not None and replay.applied != len(replay.ops):
                raise _ReplayMismatch()
            return tape, new_carry, y
        replay = None
        if n_res:  # the saved products stand in for their ops
            try:
                replay = _ReplayTracer(tracer, saved, a["step_ops"])
                tape, new_carry, y = forward_under_tape(replay)
            except _ReplayMismatch:  # the step applied other ops this time: recompute it all
                replay = None
        if replay is None:
            if products:
                raise _HoistFailed()
            tape, new_carry, y = forward_under_tape(None)
        extra = [res_t[j] for j in fr] if replay is not None else []
        targets = [new_carry[k] for k in fc] + [y[j] for j in fy] + extra
        grads = tape.gradient(targets, sources,
                              output_gradients=list(d_carry) + list(dy_t) + (list(dres_t) if replay else []),
                              unconnected_gradients="zero")
        n_f = n_fc + n_fx + len(ff)
        d_free = [add(acc, d) for acc, d in zip(d_free, grads[n_fc + n_fx:n_f])]
        d_prev = list(grads[:n_fc])
        for i, d in zip(fh, dh_t):
            d_prev[i] = add(d_prev[i], d)
        # per hoisted product: its left operand in this step, and the gradient of its result
        lefts = [replay.inputs_at[p][0] for p in products]
        return d_prev + d_free, list(grads[n_fc:n_fc + n_fx]) + lefts + list(grads[n_f:])

    init = d_final + [zeros_like(free[k]) for k in ff]
    final, backward_ys = scan(backward_step, init, list(history) + list(xs) + d_ys + d_hist + residuals + d_res,
                              reverse=not a["reverse"])
    backward_ys = list(backward_ys or [])
    d_xs = backward_ys[:n_fx]
    lefts, d_products = backward_ys[n_fx:n_fx + len(products)], backward_ys[n_fx + len(products):]
    grads = [None] * len(ctx.inputs)
    for k, d in zip(fc, final[:n_fc]):
        grads[k] = d
    for k, d in zip(fx, d_xs):
        grads[n_carry + k] = d
    for k, d in zip(ff, final[n_fc:]):
        grads[n_carry + n_xs + k] = d
    i = 0
    for k in sorted(hoisted):  # sum over steps and rows of left^T @ gradient: one GEMM per product
        for _ in hoisted[k]:
            left, d = lefts[i], d_products[i]
            term = matmul_raw(reshape(left, (-1, left.shape[-1])), reshape(d, (-1, d.shape[-1])), transpose_a=True)
            grads[n_carry + n_xs + k] = term if grads[n_carry + n_xs + k] is None else add(grads[n_carry + n_xs + k],
                                                                                          term)
            i += 1
    return tuple(grads)


SCAN = register("scan", forward=_scan_forward, infer=lambda *a, **k: ((), "bool"), grad=_scan_grad)


def _weight_products(tracer, order, results):
    """{id(variable): positions in `order`} for the variables a scan's step reads only as the
    right operand of plain 2-D matrix products (and does not return): their gradients can be
    summed over the steps by one GEMM after the loop (see _scan_grad)."""
    uses = {}
    for k, t in enumerate(order):
        for pos, x in enumerate(t.inputs):
            uses.setdefault(id(x), []).append((k, t, pos))
    returned = {id(r) for r in results}
    hoist = {}
    for variable, placeholder in tracer.captured.values():
        found = uses.get(id(placeholder), [])
        if found and id(placeholder) not in returned and len(placeholder.shape) == 2 and all(
                t.op.name == "matmul" and pos == 1 and len(t.inputs[0].shape) == 2
                and not t.attrs.get("transpose_a") and not t.attrs.get("transpose_b") for _, t, pos in found):
            hoist[id(variable)] = [k for k, _, _ in found]
    return hoist


def scan(tracer, f, init, xs, length, reverse):
    """`lk.ops.scan` on symbolic values: one SCAN node (see the module docstring). Returns
    (final carry, stacked ys) in the structures `f` returns."""
    from layerkit.ops import convert_to_tensor

    carry_leaves = [tracer.read(convert_to_tensor(c)) for c in tree.flatten(init)]
    xs_leaves = [tracer.read(convert_to_tensor(x)) for x in tree.flatten(xs)] if xs is not None else []
    n_carry, n_xs = len(carry_leaves), len(xs_leaves)
    x_specs = [SymbolicTensor(tuple(x.shape[1:]), x.dtype) for x in xs_leaves]
    structure = {}

    def step(carry, x):
        """The flat step: carry and x leaves -> (new carry leaves, y leaves)."""
        new_carry, y = f(tree.pack_sequence_as(init, carry),
                         tree.pack_sequence_as(xs, x) if xs is not None else None)
        structure.setdefault("carry", new_carry)
        structure.setdefault("y", y)
        new_leaves = [convert_to_tensor(c) for c in tree.flatten(new_carry)]
        y_leaves = [convert_to_tensor(v) for v in tree.flatten(y)] if y is not None else []
        return new_leaves, y_leaves

    save = bool(TRACE.recorders)  # a tape is recording: keep the step's products for its gradient
    step_ops, residuals, res_at, products_of = [], [], [], {}

    def flat_step(*leaves):
        new_leaves, y_leaves = step(list(leaves[:n_carry]), list(leaves[n_carry:]))
        order = TRACE.tracer.order  # the step's symbolic results, in the order it computed them
        if save and not any(t.op.name in ("while", "scan", "cond", "tuple_get") for t in order):
            step_ops.extend(t.op.name for t in order)  # (a loop inside the step: its gradient recomputes)
            for k, t in enumerate(order):
                if t.op.name in _SAVED_OPS:
                    res_at.append(k)
                    residuals.append(t)
            products_of.update(_weight_products(TRACE.tracer, order, new_leaves + y_leaves))
        return new_leaves + y_leaves + residuals

    body_plan, free, results = _subgraph(flat_step, carry_leaves + x_specs, "scan", capture_variables=True)
    n_res = len(residuals)
    new_carry, y_leaves = results[:n_carry], results[n_carry:len(results) - n_res]
    if len(new_carry) != n_carry or any(tuple(r.shape) != tuple(c.shape) or r.dtype != c.dtype
                                        for r, c in zip(new_carry, carry_leaves)):
        raise ValueError("scan: the step must return a carry of the shapes and dtypes it received: "
                         f"{[(tuple(c.shape), c.dtype) for c in carry_leaves]} -> "
                         f"{[(tuple(r.shape), r.dtype) for r in new_carry]}.")
    y_specs = tuple(((length,) + tuple(y.shape), y.dtype) for y in y_leaves + residuals)
    index = {id(f): k for k, f in enumerate(free)}
    hoist = {index[vid]: tuple(ps) for vid, ps in products_of.items() if vid in index}
    attrs = {"body_plan": body_plan, "n_carry": n_carry, "n_xs": n_xs, "length": length, "reverse": bool(reverse),
             "y_specs": y_specs, "res_at": tuple(res_at), "step_ops": tuple(step_ops), "step": step,
             "free_sources": tuple(free), "hoist": hoist}
    node = tracer.apply(SCAN, tuple(carry_leaves) + tuple(xs_leaves) + tuple(free), attrs)

    def element(index, shape, dtype):
        return tracer.apply(TUPLE_GET, (node,), {"index": index, "shape": tuple(shape), "dtype": dtype})
    final = [element(k, c.shape, c.dtype) for k, c in enumerate(carry_leaves)]
    ys = [element(n_carry + j, shape, dtype) for j, (shape, dtype) in enumerate(y_specs[:len(y_specs) - n_res])]
    carry_out = tree.pack_sequence_as(structure["carry"], final)
    y_out = tree.pack_sequence_as(structure["y"], ys) if structure["y"] is not None and ys else None
    return carry_out, y_out


# ---- cond ----------------------------------------------------------------------------------------
def _cond_forward(pred, *free, true_plan, false_plan, true_free, false_free, **_):
    plan, picks = (true_plan, true_free) if bool(np.asarray(pred).reshape(-1)[0]) else (false_plan, false_free)
    return tuple(t._data for t in plan.run([free[i] for i in picks]))


def _cond_grad(ctx, g):
    """The gradient of a cond: a cond on the same predicate whose branches re-run their forward
    branch under a tape and take its vector-Jacobian product with respect to the free inputs (the
    branch not taken runs in neither pass: its gradient, a NaN say, never mixes in)."""
    from layerkit.autodiff.tape import GradientTape
    from layerkit.ops.control_flow import cond

    a = ctx.attrs
    pred, free = ctx.inputs[0], ctx.inputs[1:]
    g = g if isinstance(g, dict) else {}
    fo = [j for j, (_, dtype) in enumerate(a["out_specs"]) if g.get(j) is not None and dtype in ("float32", "float64")]
    ff = [k for k, f in enumerate(free) if _is_float(f)]
    if not fo or not ff:
        return (None,) * len(ctx.inputs)
    ups = [g[j] for j in fo]

    def vjp(branch):
        def run():
            tracer = TRACE.tracer  # the gradient branch's _CaptureTracer
            sources = [tracer.capture(v) if _is_variable(v) else v for v in (a["free_sources"][k] for k in ff)]
            with GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(sources)
                outs = branch()
            return tape.gradient([outs[j] for j in fo], sources, output_gradients=ups, unconnected_gradients="zero")
        return run
    grads = cond(pred, vjp(a["true_fn"]), vjp(a["false_fn"]))
    result = [None] * len(ctx.inputs)
    for k, d in zip(ff, grads):
        result[1 + k] = d
    return tuple(result)


COND = register("cond", forward=_cond_forward, infer=lambda *a, **k: ((), "bool"), grad=_cond_grad)


def cond(tracer, pred, true_fn, false_fn):
    """`lk.ops.cond` on a symbolic predicate inside a traced function: each branch is traced into
    its own plan (the variables and tensors it reads become inputs of the node) and one COND node
    runs the branch the predicate picks. Returns the branches' result, in its structure."""
    from layerkit.ops import convert_to_tensor, not_equal

    pred = tracer.read(convert_to_tensor(pred))
    if any(d != 1 for d in pred.shape):
        raise ValueError(f"cond: the predicate must be a scalar (one element), received shape {tuple(pred.shape)}; "
                         "for an elementwise choice use ops.where.")
    if pred.dtype != "bool":
        pred = not_equal(pred, 0)
    returned = {}

    def flat(fn, which):
        def run():
            out = fn()
            returned[which] = out
            leaves = tree.flatten(out)
            if out is None or any(leaf is None for leaf in leaves):
                raise ValueError(f"cond: the {which} branch returned None; both branches must return tensors, or "
                                 "structures of them, of the same shapes and dtypes.")
            return [convert_to_tensor(leaf) for leaf in leaves]
        return run
    true_flat, false_flat = flat(true_fn, "true"), flat(false_fn, "false")
    true_plan, true_free, t_res = _subgraph(true_flat, [], "cond", capture_variables=True)
    false_plan, false_free, f_res = _subgraph(false_flat, [], "cond", capture_variables=True)
    if tree.structure(returned["true"]) != tree.structure(returned["false"]):
        raise ValueError(f"cond: the branches return different structures: {_describe(returned['true'])} vs "
                         f"{_describe(returned['false'])}.")
    for t, f in zip(t_res, f_res):
        if tuple(t.shape) != tuple(f.shape) or t.dtype != f.dtype:
            raise ValueError(f"cond: the branches return different tensors: shape {tuple(t.shape)} {t.dtype} vs "
                             f"{tuple(f.shape)} {f.dtype}.")
    free, (true_at, false_at) = _merge_free(true_free, false_free)
    specs = tuple((tuple(t.shape), t.dtype) for t in t_res)
    attrs = {"true_plan": true_plan, "false_plan": false_plan, "true_free": true_at, "false_free": false_at,
             "out_specs": specs, "true_fn": true_flat, "false_fn": false_flat, "free_sources": tuple(free)}
    node = tracer.apply(COND, (pred,) + tuple(free), attrs)
    out = [tracer.apply(TUPLE_GET, (node,), {"index": j, "shape": shape, "dtype": dtype})
           for j, (shape, dtype) in enumerate(specs)]
    return tree.pack_sequence_as(returned["true"], out)


def _describe(x):
    """A structure for an error message: containers kept, each tensor as its shape."""
    return tree.map_structure(lambda leaf: "None" if leaf is None else tuple(getattr(leaf, "shape", ())), x)
