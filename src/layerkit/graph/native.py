"""Lowering an optimized graph to a native plan: the C++ executor (csrc/executor.cpp) runs every
kernel of a step in one call from Python, with the GIL released, over buffers planned here.

- Each node becomes a native step by its primitive's lowering rule (`RULES`, and
  `lower_nn.RULES` for convolution, pooling and softmax): the step's name, integer and float
  attributes, computed once from the node's attrs and the concrete shapes. A node without a rule
  (a random draw) runs as a Python callback inside the plan. Reshapes and other views cost
  nothing: their slot aliases their input's buffer.
- Memory planning: every intermediate lives in one arena allocated with the plan. A value's
  buffer is live from the step that writes it to the last step that reads it (or a view of it);
  buffers are placed largest first at the lowest offset not used by any buffer live at the same
  time, so the arena is far smaller than the sum of the values (see `NativeExecutor.memory`).
  In-place variable updates write straight into the variable.
- Shapes: a plan is built for concrete input shapes; a graph traced with None dims gets one plan
  per shape seen, its sizes re-inferred through the primitives' shape rules.

- Control flow: a `while`, `scan` or `cond` node and the `tuple_get`s that read its results
  become one native step running the node's own plans, their buffers bound by pointer: a scan's
  step once per element (each element read in place, each output written into its stacked
  result), a while loop's condition and body until the condition fails, the branch a cond's
  predicate picks.
"""
import functools
import math

import numpy as np

from layerkit.backend import DTYPE_CODES, core
from layerkit.graph import lower_nn
from layerkit.graph.executor import node_label
from layerkit.graph.fusion import _B, _U, one_pass_fits, stored_shapes
from layerkit.ops import Tensor
from layerkit.ops.core import split_axis
from layerkit.ops.layout import _numpy_key, _sum_like_axes, concat_slices, pad_interior, slice_grad_layout
from layerkit.ops.reduction import reduce_passes

ALIGN = 64  # arena offsets: cache-line aligned
_ALIAS_OPS = {"reshape", "expand_dims", "squeeze", "stop_gradient", "merge_axes", "reshape_like"}
_LOOPS = {"while", "scan", "cond"}  # tuple-valued control-flow nodes
_LOOP_OPS = _LOOPS | {"tuple_get"}  # a loop and the reads of its results: one step
_SLOT_ARENA, _SLOT_INPUT, _SLOT_VARIABLE, _SLOT_CONSTANT, _SLOT_ALIAS = range(5)


class Spec:
    """A value's concrete shape and dtype, as lowering rules and shape rules see it."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def nbytes(self):
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize


# ---- lowering rules: (attrs, input specs, output specs) -> (step, ints, floats[, inputs]) ----------
def _window(base_shape, view):
    """(element offset, element strides) of numpy view `view(base)` for a base of `base_shape`:
    an int8 stand-in makes byte offsets and strides element counts (np.empty touches no memory)."""
    base = np.empty(base_shape, np.int8)
    v = view(base)
    offset = v.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return [int(offset)] + [int(s) for s in v.strides]


def _unary(code):
    return lambda attrs, ins, outs: ("unary", [code], [])


def _binary(code):
    return lambda attrs, ins, outs: ("binary", [code], [])


def _strided(view):
    return lambda attrs, ins, outs: ("strided_copy", _window(ins[0].shape, lambda b: view(b, attrs, outs)), [])


def _reduce(code):
    def rule(attrs, ins, outs):
        passes = reduce_passes(ins[0].shape, attrs["axis"])
        if not passes:  # nothing reduced: a copy
            return "strided_copy", _window(ins[0].shape, lambda b: b.reshape(outs[0].shape)), []
        return "reduce", [code] + [d for p in passes for d in p], []
    return rule


def _arg(is_max):
    return lambda attrs, ins, outs: ("arg_reduce", [int(is_max), *split_axis(ins[0].shape, attrs["axis"])], [])


def _matmul(attrs, ins, outs):
    a, b = ins[0].shape, ins[1].shape
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    K = a[-2] if ta else a[-1]
    N = b[-2] if tb else b[-1]
    if len(b) == 2 and not ta:  # (..., M, K) @ (K, N): one tall GEMM
        return "matmul", [1, math.prod(a[:-1]), N, K, 0, int(tb), 0, 0], []
    ba, bb = a[:-2], b[:-2]
    batch = tuple(np.broadcast_shapes(ba, bb))
    na, nb_ = math.prod(ba), math.prod(bb)
    if (na != 1 and ba != batch) or (nb_ != 1 and bb != batch):
        return None  # a partly broadcast batch: the eager forward materializes it
    M = a[-1] if ta else a[-2]
    return "matmul", [math.prod(batch), M, N, K, int(ta), int(tb), int(na != 1), int(nb_ != 1)], []


def _linear(attrs, ins, outs):
    x, w = ins[0].shape, ins[1].shape
    tw = attrs["transpose_w"]
    return "linear", [math.prod(x[:-1]), w[0] if tw else w[1], x[-1], int(tw), attrs["activation"]], []


def _concat_part(attrs, ins, outs):  # (the parts only give the bounds)
    index = concat_slices([x.shape[attrs["axis"]] for x in ins[1:]], attrs["axis"])[attrs["index"]]
    return "strided_copy", _window(ins[0].shape, lambda b: b[index]), [], [0]


def _sum_like(attrs, ins, outs):  # (the second input only gives the shape)
    return _reduce(0)({"axis": _sum_like_axes(ins[0].shape, ins[1].shape)}, ins[:1], outs) + ([0],)


def _fused(attrs, ins, outs):
    if "members" in attrs and not one_pass_fits(attrs["members"], [x.shape for x in ins]):
        return None  # sizes that differ only at run time: its members run one by one (Python)
    code = np.asarray(attrs["code"], np.int64)
    return ("fused_elementwise", [DTYPE_CODES[attrs["dtype"]], attrs["n_regs"], code.shape[0]] + code.ravel().tolist(),
            [float(v) for v in np.asarray(attrs["immediates"]).ravel()])


# scatter_slices modes: 0 windows tile the output, 1 fill then write, 2 fill with 0 then add
_SLICE_MODES = {"tiled": 0, "disjoint": 1, "overlapping": 2}


def _scatter_slices(mode, shape, indices, fill=0.0):
    ints = [mode]
    for index in indices:
        ints += _window(shape, lambda b, index=index: b[index])
    return "scatter_slices", ints, [float(fill)]


def _getitem_grad(attrs, ins, outs):
    shape, keys = outs[0].shape, attrs["keys"]
    step = _scatter_slices(_SLICE_MODES[slice_grad_layout(keys, shape)], shape, [_numpy_key(k) for k in keys])
    return step + (list(range(len(keys))),) if attrs.get("like") else step  # (the sliced tensor: its shape only)


def _concatenate(attrs, ins, outs):
    return _scatter_slices(0, outs[0].shape, concat_slices([x.shape[attrs["axis"]] for x in ins], attrs["axis"]))


def _pad(attrs, ins, outs):
    return _scatter_slices(1, outs[0].shape, [pad_interior(ins[0].shape, attrs["pad_width"])],
                           attrs["constant_values"])


def _full_like(attrs, ins, outs):
    return "scatter_slices", [1], [float(attrs["fill_value"])], []


def _gather(along):
    return lambda attrs, ins, outs: ("gather", [*split_axis(ins[0].shape, attrs["axis"]), int(along)], [])


def _scatter(along):  # the result's concrete shape (a third input, if any, only gives it)
    return lambda attrs, ins, outs: ("scatter_add", [*split_axis(outs[0].shape, attrs["axis"]), int(along)], [],
                                     [0, 1])


RULES = {name: _unary(i) for i, name in enumerate(_U)}
RULES["logical_not"] = _unary(len(_U))
RULES.update({name: _binary(i) for i, name in enumerate(_B) if name})
RULES.update({
    "logical_and": _binary(_B.index(None)), "logical_or": _binary(_B.index(None) + 1),
    "where": lambda attrs, ins, outs: ("where", [], []),
    "cast": lambda attrs, ins, outs: ("cast", [], []),
    "matmul": _matmul, "linear": _linear, "fused_elementwise": _fused, "sum_like": _sum_like,
    "concat_part": _concat_part,
    "sum": _reduce(0), "prod": _reduce(1), "max": _reduce(2), "min": _reduce(3),
    "argmax": _arg(True), "argmin": _arg(False),
    "transpose": _strided(lambda b, attrs, outs: b.transpose(attrs["axes"])),
    "broadcast_to": _strided(lambda b, attrs, outs: np.broadcast_to(b, outs[0].shape)),
    "broadcast_like": _strided(lambda b, attrs, outs: np.broadcast_to(b, outs[0].shape)),
    "getitem": _strided(lambda b, attrs, outs: b[_numpy_key(attrs["key"])]),
    "getitem_grad": _getitem_grad, "concatenate": _concatenate, "pad": _pad, "full_like": _full_like,
    "take": _gather(False), "take_along_axis": _gather(True),
    "scatter_add": _scatter(False), "scatter_add_along_axis": _scatter(True),
})
RULES.update(lower_nn.RULES)


# ---- shapes ------------------------------------------------------------------------------------
def _concrete_specs(graph, arrays):
    """Spec per value id for these argument arrays: the traced shapes, or, where the graph has
    unknown sizes, shapes re-inferred node by node through the primitives' shape rules."""
    specs = {}
    for vid, a in zip(graph.inputs, arrays):
        specs[vid] = Spec(a.shape, a.dtype.name)
    for v in graph.values:
        if v.kind == "variable":
            specs[v.id] = Spec(v.ref._data.shape, v.ref._data.dtype.name)
        elif v.kind == "constant":
            specs[v.id] = Spec(np.shape(v.ref), np.asarray(v.ref).dtype.name)
    producer = {}
    for n in graph.nodes:
        producer[n.output] = n
        outs = [graph.values[o] for o in n.outputs]
        if n.op.name in _LOOPS:  # its value is the tuple of its results: never a buffer
            specs[n.output] = Spec((), "bool")
            continue
        if n.op.name == "tuple_get":
            loop = producer[n.inputs[0]]
            specs[n.output] = Spec(_loop_result_shape(loop, n.attrs["index"], specs), outs[0].dtype)
            continue
        if all(None not in v.shape for v in outs) and all(None not in graph.values[i].shape for i in n.inputs):
            for v in outs:
                specs[v.id] = Spec(v.shape, v.dtype)
            continue
        if n.op.name == "fused_elementwise" and "members" in n.attrs:  # each stored value its own shape
            for v, shape in zip(outs, stored_shapes(n.attrs["members"], [specs[i].shape for i in n.inputs])):
                specs[v.id] = Spec(shape, v.dtype)
            continue
        shape, _ = n.op.infer(*[specs[i] for i in n.inputs], **n.attrs)
        if None in shape and n.op.name == "fused_elementwise":
            shape = np.broadcast_shapes(*[specs[i].shape for i in n.inputs])
        if None in shape and n.op.name == "random" and len(n.inputs) == 2:  # sized like its second input
            shape = tuple(d if d is not None else specs[n.inputs[1]].shape[i] for i, d in enumerate(shape))
        if None in shape and n.op.name == "getitem_grad":
            shape = _scattered_shape(shape, n.attrs["keys"][0], specs[n.inputs[0]].shape)
        if None in shape:
            raise ValueError(f"lk.function: cannot infer the output shape of {n.op.name} for the argument shapes "
                             f"{[a.shape for a in arrays]} (received {shape}).")
        for v in outs:
            specs[v.id] = Spec(shape, v.dtype)
    return specs


def _scattered_shape(shape, key, slice_shape):
    """The shape a getitem_grad scatters into (`shape`, with unknown sizes) from one of its slices:
    an unknown axis the key takes whole has the size of the slice's matching axis."""
    shape, axis, s_axis = list(shape), 0, 0
    key = list(key) + [("s", None, None, None)] * (len(shape) - sum(k[0] != "n" for k in key))
    for k in key:
        if k[0] == "n":  # a new axis of the slice only
            s_axis += 1
            continue
        if k[0] == "s":
            if shape[axis] is None and k[1] in (None, 0) and k[2] is None and k[3] in (None, 1):
                shape[axis] = slice_shape[s_axis]
            s_axis += 1
        axis += 1
    return tuple(shape)


def _loop_result_shape(loop, index, specs):
    """The concrete shape of result `index` of a loop node whose inputs have `specs`: a while
    loop's variables keep the shapes they enter with; a scan returns its final carries, its
    stacked outputs and its carries' history, whose unknown sizes its step's graph gives."""
    entering = [specs[i].shape for i in loop.inputs]
    if loop.op.name == "while":
        return entering[index]
    a = loop.attrs
    if loop.op.name == "cond":  # the branches' results have the same shapes: the true branch's
        shape = a["out_specs"][index][0]
        if None not in shape:
            return shape
        picks = [loop.inputs[1 + i] for i in a["true_free"]]
        graph = a["true_plan"].graph
        branch = _concrete_specs(graph, [_Shaped(specs[i].shape, np.dtype(specs[i].dtype)) for i in picks])
        return tuple(branch[graph.outputs[index]].shape)
    n_carry, n_xs, length = a["n_carry"], a["n_xs"], a["length"]
    n_ys = len(a["y_specs"])
    if index < n_carry:
        return entering[index]
    if index >= n_carry + n_ys:
        return (length,) + tuple(entering[index - n_carry - n_ys])
    shape = a["y_specs"][index - n_carry][0]
    if None not in shape:
        return shape
    body = a["body_plan"].graph  # its inputs: the carries, one step of each sequence, the free inputs
    shapes = entering[:n_carry] + [s[1:] for s in entering[n_carry:n_carry + n_xs]] + entering[n_carry + n_xs:]
    step_specs = _concrete_specs(body, [_Shaped(s, np.dtype(specs[i].dtype)) for s, i in zip(shapes, loop.inputs)])
    return (length,) + tuple(step_specs[body.outputs[index]].shape)


class _Shaped:
    """What _concrete_specs reads of an argument: its shape and dtype."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype


# ---- the plan ----------------------------------------------------------------------------------
def _place(sizes, lives):
    """Arena offsets for buffers of `sizes` bytes live over inclusive step intervals `lives`:
    largest first, each at the lowest aligned offset clear of every placed buffer whose
    lifetime overlaps its own. Returns (offsets, arena bytes)."""
    n = len(sizes)
    order = sorted(range(n), key=lambda i: -sizes[i])
    starts = np.array([lv[0] for lv in lives], np.int64)
    ends = np.array([lv[1] for lv in lives], np.int64)
    offsets = np.zeros(n, np.int64)
    placed = np.zeros(n, bool)
    padded = np.array([(s + ALIGN - 1) // ALIGN * ALIGN for s in sizes], np.int64)
    total = 0
    for i in order:
        clash = placed & (starts <= ends[i]) & (ends >= starts[i])
        offset = 0
        if clash.any():
            idx = np.nonzero(clash)[0]
            for j in idx[np.argsort(offsets[idx], kind="stable")]:
                if offsets[j] >= offset + padded[i]:
                    break  # the gap before j holds it
                offset = max(offset, offsets[j] + padded[j])
        offsets[i] = offset
        placed[i] = True
        total = max(total, offset + padded[i])
    return offsets.tolist(), int(total)


class NativeExecutor:
    """Runs a graph through native plans (one per concrete input signature). Same interface as
    PythonPlan: `run(arrays) -> [Tensor]`, `profile(arrays, repeats) -> [(label, seconds)]`."""

    def __init__(self, graph):
        self.graph = graph
        self.variables = [v for v in graph.values if v.kind == "variable"]
        # variables the graph writes without reading still need binding for the write-back
        read = {id(v.ref) for v in self.variables}
        self.written_only = []
        for var, _ in graph.updates:
            if id(var) not in read:
                read.add(id(var))
                self.written_only.append(var)
        self._plans = {}
        self._variable_objects = [v.ref for v in self.variables] + self.written_only
        self._updated = [var for var, _ in graph.updates]

    def _plan(self, arrays):
        """(the arrays as C-contiguous, aligned arrays, the plan built for their shapes)."""
        if not all(a.flags.c_contiguous and a.flags.aligned for a in arrays):
            arrays = [np.require(a, requirements=["C", "A"]) for a in arrays]
        key = tuple(a.shape for a in arrays)
        entry = self._plans.get(key)
        if entry is None:
            entry = self._plans[key] = self._build(arrays)
        return arrays, entry

    def plan_for(self, specs):
        """The plan for arguments of these shapes and dtypes (objects with `.shape` and a numpy
        `.dtype`): what a scan's native step runs."""
        key = tuple(tuple(a.shape) for a in specs)
        entry = self._plans.get(key)
        if entry is None:
            entry = self._plans[key] = self._build(specs)
        return entry

    def _build(self, arrays):
        g = self.graph
        specs = _concrete_specs(g, arrays)
        used = {i for n in g.nodes for i in n.inputs} | set(g.roots())
        # each loop node's results, as the tuple_get nodes that read them
        loop_results = {}
        for n in g.nodes:
            if n.op.name == "tuple_get":
                loop_results.setdefault(n.inputs[0], []).append((n.attrs["index"], n.output))
        order = list(g.inputs) + [v.id for v in self.variables] + [
            v.id for v in g.values if v.kind == "constant" and v.id in used] + [
            o for n in g.nodes if n.op.name not in _LOOPS for o in n.outputs]
        slot = {vid: k for k, vid in enumerate(order)}
        kinds, args, constants = {}, {}, []
        for k, vid in enumerate(g.inputs):
            kinds[vid], args[vid] = _SLOT_INPUT, k
        for k, v in enumerate(self.variables):
            kinds[v.id], args[v.id] = _SLOT_VARIABLE, k
        for v in g.values:
            if v.kind == "constant" and v.id in used:
                kinds[v.id], args[v.id] = _SLOT_CONSTANT, len(constants)
                constants.append(np.require(v.ref, specs[v.id].dtype, "C"))
        # steps, and the buffer each node output is written to (its own, or an input's)
        steps, callbacks, labels = [], [], []
        for n in g.nodes:
            ins = [specs[i] for i in n.inputs]
            outs = [specs[o] for o in n.outputs]
            if n.op.name == "tuple_get":
                continue  # written by its loop's step
            if n.op.name in _LOOPS:
                picks = sorted(loop_results.get(n.output, []))
                out_ids = [vid for _, vid in picks]
                native = _native_loop(n, ins, callbacks)
                if native is not None:  # the loop runs its own plans natively, bound by pointer
                    steps.append((n.op.name, native + [index for index, _ in picks], [],
                                  [slot[i] for i in n.inputs], [slot[o] for o in out_ids], n.inputs, out_ids))
                else:
                    callbacks.append(_loop_callback(n, [index for index, _ in picks]))
                    steps.append(("python", [len(callbacks) - 1], [], [slot[i] for i in n.inputs],
                                  [slot[o] for o in out_ids], n.inputs, out_ids))
                labels.append(node_label(n, [specs[i].shape for i in n.inputs]))
                continue
            if n.op.name in _ALIAS_OPS or (n.op.name == "sum_like" and ins[0].shape == outs[0].shape):
                kinds[n.output], args[n.output] = _SLOT_ALIAS, n.inputs[0]
                continue
            for out_k, in_k in n.attrs.get("inplace", ()):
                kinds[n.outputs[out_k]], args[n.outputs[out_k]] = _SLOT_ALIAS, n.inputs[in_k]
            rule = RULES.get(n.op.name)
            lowered = rule(n.attrs, ins, outs) if rule is not None else None
            if lowered is None:
                callbacks.append(_python_forward(n))
                lowered = ("python", [len(callbacks) - 1], [])
            name, ints, floats = lowered[:3]
            in_ids = n.inputs if len(lowered) == 3 else [n.inputs[i] for i in lowered[3]]
            steps.append((name, [int(i) for i in ints], floats, [slot[i] for i in in_ids],
                          [slot[o] for o in n.outputs], n.inputs, n.outputs))
            labels.append(node_label(n, [specs[i].shape for i in n.inputs]))
        # lifetimes of arena buffers, in step indices; a view keeps its base alive
        node_step = {}
        for k, st in enumerate(steps):
            for o in st[6]:
                node_step[o] = k
        root = {}
        for vid in order:  # in topological order, so a view's base is resolved first
            kinds.setdefault(vid, _SLOT_ARENA)
            root[vid] = root[args[vid]] if kinds[vid] == _SLOT_ALIAS else vid
        last = {}
        for k, st in enumerate(steps):
            for i in st[5]:
                last[root[i]] = k
        end = len(steps)
        for vid in g.roots():
            last[root[vid]] = end  # read after the last step (results, write-backs)
        arena = [vid for vid in order if kinds[vid] == _SLOT_ARENA]
        lives = []
        for vid in arena:
            first = node_step.get(vid, 0)
            # a buffer nobody reads is still written by its step
            lives.append((first, max(first, last.get(vid, first))))
        offsets, arena_bytes = _place([specs[vid].nbytes for vid in arena], lives)
        for vid, off in zip(arena, offsets):
            args[vid] = off
        slots = [(DTYPE_CODES[specs[vid].dtype], list(specs[vid].shape), kinds[vid],
                  slot[args[vid]] if kinds[vid] == _SLOT_ALIAS else args[vid]) for vid in order]
        var_slot = {id(v.ref): k for k, v in enumerate(self.variables)}
        var_slot.update({id(var): len(self.variables) + k for k, var in enumerate(self.written_only)})
        updates = [(var_slot[id(var)], slot[vid]) for var, vid in g.updates if vid not in g.inplace_updates]
        plan = core.NativePlan(slots, constants, arena_bytes, [s[:5] for s in steps], callbacks, len(g.inputs),
                               len(self.variables) + len(self.written_only), [slot[o] for o in g.outputs], updates)
        return _Built(plan, labels, sum(specs[vid].nbytes for vid in arena),
                      [lab for lab, s in zip(labels, steps) if s[0] == "python"], keep=(constants, callbacks))

    def _variable_arrays(self):
        return [v._data for v in self._variable_objects]

    def run(self, arrays):
        if len(self._plans) == 1:  # one plan so far: it checks the arrays' shapes and layout itself
            try:
                return self._finish(next(iter(self._plans.values())).native.run(arrays, self._variable_arrays()))
            except ValueError as e:  # refused before any step ran: another shape, or non-contiguous
                if not str(e).startswith("native plan: the argument"):
                    raise
        arrays, plan = self._plan(arrays)
        return self._finish(plan.native.run(arrays, self._variable_arrays()))

    def _finish(self, results):
        for var in self._updated:
            var._version += 1
        return [Tensor(r) for r in results]

    def profile(self, arrays, repeats=5):
        arrays, plan = self._plan(arrays)
        runs = [plan.native.profile(arrays, self._variable_arrays()) for _ in range(repeats)]
        for var, _ in self.graph.updates:
            var._version += repeats
        return [(label, sorted(t)[len(t) // 2]) for label, t in zip(plan.labels, zip(*runs))]

    def memory(self, arrays):
        """{"arena_bytes": planned arena, "values_bytes": the intermediates' total size} for
        these argument shapes: what liveness planning saves over one buffer per value."""
        plan = self._plan(arrays)[1]
        return {"arena_bytes": plan.native.arena_bytes, "values_bytes": plan.sum_bytes}

    def python_steps(self, arrays):
        """Labels of the steps that run as Python callbacks (no native rule) for these shapes."""
        return list(self._plan(arrays)[1].python_steps)


class _Built:
    """A native plan with what the Python side reports about it, and the constants and callbacks
    it borrows (`keep`)."""

    def __init__(self, native, labels, sum_bytes, python_steps, keep):
        self.native, self.labels, self.sum_bytes, self.python_steps = native, labels, sum_bytes, python_steps
        self.keep = keep


def _python_forward(node):
    return functools.partial(node.op.forward, **node.attrs)


def _native_loop(node, ins, callbacks):
    """The integer attributes of a loop node's native step for operands `ins` (specs), before
    the result picks (see NativePlan's scan_step, while_step and cond_step), its plans appended to
    `callbacks`; None when a plan reads variables of its own or a while condition is not one
    bool (then the loop runs through its Python forward)."""
    a = node.attrs
    plans = {"while": lambda: [a["cond_plan"], a["body_plan"]], "cond": lambda: [a["true_plan"], a["false_plan"]],
             "scan": lambda: [a["body_plan"]]}[node.op.name]()
    if not all(isinstance(p, NativeExecutor) and not p.variables and not p.written_only for p in plans):
        return None

    def native(plan, operands):
        callbacks.append(plan.plan_for([_Shaped(sp.shape, np.dtype(sp.dtype)) for sp in operands]).native)
        return len(callbacks) - 1
    if node.op.name == "cond":  # ins: the predicate, then the free inputs
        if ins[0].dtype != "bool":
            return None
        free = ins[1:]
        true = native(plans[0], [free[i] for i in a["true_free"]])
        false = native(plans[1], [free[i] for i in a["false_free"]])
        return [true, false, len(a["true_free"]), *a["true_free"], len(a["false_free"]), *a["false_free"]]
    if node.op.name == "scan":
        n_carry, n_xs = a["n_carry"], a["n_xs"]
        step_ins = [Spec(sp.shape[1:], sp.dtype) if n_carry <= k < n_carry + n_xs else sp for k, sp in enumerate(ins)]
        return [native(plans[0], step_ins), n_carry, n_xs, a["length"], int(a["reverse"])]
    n_vars, cond_free, body_free = a["n_vars"], list(a["cond_free"]), list(a["body_free"])
    cond_out = plans[0].graph.values[plans[0].graph.outputs[0]]
    if len(plans[0].graph.outputs) != 1 or cond_out.dtype != "bool" or cond_out.shape not in ((), (1,)):
        return None
    free = ins[n_vars:]
    cond = native(plans[0], ins[:n_vars] + [free[i] for i in cond_free])
    body = native(plans[1], ins[:n_vars] + [free[i] for i in body_free])
    maximum = a["maximum_iterations"]
    return [cond, body, n_vars, -1 if maximum is None else int(maximum), len(cond_free), *cond_free,
            len(body_free), *body_free]


def _loop_callback(node, picks):
    """The Python step of a loop node: its results `picks` (the ones the graph reads)."""
    forward = _python_forward(node)

    def run(*arrays):
        results = forward(*arrays)
        return [results[i] for i in picks]
    return run


def make_plan(graph):
    """The executor for an optimized graph."""
    return NativeExecutor(graph)
