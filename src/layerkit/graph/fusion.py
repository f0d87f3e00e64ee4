"""Elementwise fusion: groups of elementwise nodes become one `fused_elementwise` node, run by one
pass over memory (csrc/fused.cpp) with every intermediate in a cache-resident block.

Legality (checked per node, in topological order):
- a member is an elementwise primitive over float32/float64 (comparisons and `where` included:
  booleans live in registers as 0/1) whose output has the group's shape — inputs may broadcast
  up to it (bias vectors, scalars), never beyond;
- the group runs where its first member stood, so a node joins a group only if each of its
  inputs comes from the group itself or existed before the group's first member: no input is
  produced by a node that runs after the group starts, which rules out cycles;
- a member's value is stored (an output of the fused node) only when something outside the
  group or the graph's results/updates read it; the others never reach memory.
A group of one node stays as it is: fusion only pays when it removes a pass over memory.
"""
import numpy as np

from layerkit.backend import DTYPE_CODES, core
from layerkit.graph.ir import Node
from layerkit.ops.primitive import register

# Opcodes shared with csrc/fused.cpp (enum U and enum B in csrc/elementwise_ops.h, in order).
_U = ["negative", "abs", "sign", "square", "sqrt", "rsqrt", "exp", "log", "log1p", "expm1", "tanh", "sigmoid",
      "relu", "erf", "sin", "cos", "floor", "ceil", "round", "reciprocal"]
_B = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "equal", "not_equal", "less",
      "less_equal", "greater", "greater_equal", None, None, "relu_grad"]
UNARY = {name: core.FUSED_UNARY_BASE + i for i, name in enumerate(_U)}
BINARY = {name: core.FUSED_BINARY_BASE + i for i, name in enumerate(_B) if name}
LOAD, CONST, STORE, WHERE = 0, 1, 2, 3
MAX_OPERANDS = 16  # csrc/fused.cpp kMaxOperands: outputs + inputs of one group


def stored_shapes(members, input_shapes):
    """The concrete shape of each value a group traced with unknown sizes (None) stores, for
    inputs of these shapes. Sizes that printed alike when traced may differ when the graph runs
    ((None, 2) from a reshape and from a slice): when they are not all one shape, the group's
    one pass cannot compute it, and its members run one by one (_run_members)."""
    known, shapes = dict(enumerate(input_shapes)), []
    for op, ins, _, out, stored in members:
        try:
            known[out] = np.broadcast_shapes(*[known[i] if kind == "v" else () for kind, i in ins])
        except ValueError:
            raise ValueError(f"{op.name}: operands could not be broadcast together with shapes "
                             f"{[known[i] if kind == 'v' else () for kind, i in ins]}.") from None
        if stored:
            shapes.append(known[out])
    return shapes


def one_pass_fits(members, input_shapes):
    """Whether the group's one pass (over the inputs' broadcast shape) computes what it stores."""
    try:
        shape = np.broadcast_shapes(*input_shapes)
    except ValueError:
        return False
    return all(s == shape for s in stored_shapes(members, input_shapes))


def _run_members(inputs, members, dtype):
    """The stored values of a fused group computed member by member (their own kernels, numpy
    broadcasting): what the group means when one pass over one shape cannot compute it."""
    env, results = dict(enumerate(inputs)), []
    for op, ins, attrs, out, stored in members:
        env[out] = op.forward(*[env[i] if kind == "v" else np.asarray(i, dtype) for kind, i in ins], **attrs)
        if stored:
            results.append(env[out])
    return tuple(results)


def _fused_forward(*inputs, code, immediates, shape, out_bool, dtype, n_regs, ops, inplace=(), members=None):
    if None in shape:  # traced with unknown sizes: the group's shape is its inputs' broadcast
        if members is not None and not one_pass_fits(members, [x.shape for x in inputs]):
            return _run_members(inputs, members, dtype)
        shape = np.broadcast_shapes(*[x.shape for x in inputs])
    if inplace:
        return core.fused_elementwise(code, immediates, inputs, shape, out_bool, DTYPE_CODES[dtype], n_regs,
                                      [inputs[i] for _, i in inplace], [slot for slot, _ in inplace])
    return core.fused_elementwise(code, immediates, inputs, shape, out_bool, DTYPE_CODES[dtype], n_regs)


FUSED_ELEMENTWISE = register(
    "fused_elementwise", forward=_fused_forward,
    infer=lambda *inputs, shape, out_bool, dtype, **_: (tuple(shape), "bool" if out_bool[0] else dtype),
    grad=None, kernels=("fused_elementwise",))


class _Group:
    def __init__(self, start, shape, dtype):
        self.start, self.shape, self.dtype = start, shape, dtype
        self.nodes, self.values = [], set()


def _broadcasts_to(shape, target):
    if len(shape) > len(target):
        return False
    return all(d == t or d == 1 for d, t in zip(shape[::-1], target[::-1]))


def _compute_dtype(g, n):
    """The group dtype node `n` computes in, or None when it cannot be fused."""
    name = n.op.name
    out = g.values[n.output]
    ins = [g.values[i] for i in n.inputs]
    if name in UNARY or name in BINARY:
        dt = ins[0].dtype
        if dt not in ("float32", "float64") or any(v.dtype != dt for v in ins):
            return None
    elif name == "where":
        dt = ins[1].dtype
        if dt not in ("float32", "float64") or ins[2].dtype != dt or ins[0].dtype != "bool":
            return None
    else:
        return None
    if not all(_broadcasts_to(v.shape, out.shape) for v in ins):
        return None
    return dt


def fuse_elementwise(g):
    index = {}
    for k, n in enumerate(g.nodes):
        for o in n.outputs:
            index[o] = k
    group_of, groups = {}, []
    for k, n in enumerate(g.nodes):
        dt = _compute_dtype(g, n)
        if dt is None:
            continue
        shape = g.values[n.output].shape
        chosen = None
        # a group that produces one of the inputs, else the latest group of this shape (sibling
        # chains reading the same inputs, like an optimizer's updates, share one pass)
        candidates = [group_of[i] for i in n.inputs if i in group_of] + groups[-1:]
        for G in candidates:
            if G.shape != shape or G.dtype != dt:
                continue
            if all(j in G.values or index.get(j, -1) < G.start for j in n.inputs):
                chosen = G
                break
        if chosen is None:
            chosen = _Group(k, shape, dt)
            groups.append(chosen)
        chosen.nodes.append(n)
        chosen.values.add(n.output)
        group_of[n.output] = chosen
    fused = [G for G in groups if len(G.nodes) > 1]
    if not fused:
        return g
    consumers = g.consumers()
    roots = set(g.roots())
    replaced = {}
    for G in fused:
        node = _compile(g, G, consumers, roots)
        if node is not None:
            replaced[id(G.nodes[0])] = node
            for n in G.nodes[1:]:
                replaced[id(n)] = None
    out = []
    for n in g.nodes:
        r = replaced.get(id(n), n)
        if r is not None:
            out.append(r)
    g.nodes = out
    return g


def _compile(g, G, consumers, roots):
    """The fused node for group G (None when it exceeds the kernel's operand limit)."""
    members = {id(n) for n in G.nodes}
    group_values = {n.output for n in G.nodes}
    code, imm, reg, inputs = [], [], {}, []

    def operand(vid):
        if vid in reg:
            return reg[vid]
        v = g.values[vid]
        r = len(reg)
        if v.kind == "constant" and v.ref.size == 1:
            code.append((CONST, r, len(imm), 0, 0))
            imm.append(float(v.ref.reshape(())))
        else:
            code.append((LOAD, r, len(inputs), 0, 0))
            inputs.append(vid)
        reg[vid] = r
        return r

    stored = []
    for n in G.nodes:
        args = [operand(i) for i in n.inputs]
        r = len(reg)
        name = n.op.name
        if name == "where":
            code.append((WHERE, r, args[1], args[2], args[0]))
        elif name in UNARY:
            code.append((UNARY[name], r, args[0], 0, 0))
        else:
            code.append((BINARY[name], r, args[0], args[1], 0))
        reg[n.output] = r
        if n.output in roots or any(id(c) not in members for c in consumers.get(n.output, [])):
            stored.append(n.output)
    if len(inputs) + len(stored) > MAX_OPERANDS or not stored:
        return None
    for k, vid in enumerate(stored):
        code.append((STORE, k, reg[vid], 0, 0))
    code, n_regs = _allocate_registers(code)
    out_bool = tuple(g.values[v].dtype == "bool" for v in stored)
    attrs = {"code": np.array(code, dtype=np.int32).reshape(-1, 5), "immediates": np.array(imm, dtype=np.float64),
             "shape": tuple(G.shape), "out_bool": out_bool, "dtype": G.dtype, "n_regs": n_regs,
             "ops": tuple(n.op.name for n in G.nodes)}
    if None in tuple(G.shape):
        # per member: (op, its inputs as ("v", fused input or member value) or ("c", constant),
        # attrs, its value's key, whether stored)
        position = {vid: k for k, vid in enumerate(inputs)}

        def source(i):
            if i in group_values:
                return ("v", ("m", i))
            if i in position:
                return ("v", position[i])
            return ("c", float(g.values[i].ref.reshape(())))  # a scalar constant, inlined
        attrs["members"] = tuple((n.op, tuple(source(i) for i in n.inputs), dict(n.attrs), ("m", n.output),
                                  n.output in stored) for n in G.nodes)
    return Node(FUSED_ELEMENTWISE, inputs, attrs, None, stored)


def _reads(row):
    """The registers instruction `row` reads."""
    op = row[0]
    if op in (LOAD, CONST):
        return ()
    if op == STORE:
        return (row[2],)
    if op == WHERE:
        return row[2:5]
    return (row[2],) if op < core.FUSED_BINARY_BASE else row[2:4]


def _allocate_registers(code):
    """(code, register count) with one register per value rewritten to reuse registers by
    liveness: a register is free again after the last instruction that reads its value. Each
    register is a block of kBlock elements, so a long chain keeps its working set in L1/L2
    instead of touching one new block per instruction. An instruction never writes over one of
    its own operands (its destination is taken before they are freed)."""
    last = {}
    for k, row in enumerate(code):
        for r in _reads(row):
            last[r] = k
    phys, free, count, out = {}, [], 0, []
    for k, row in enumerate(code):
        reads = _reads(row)
        new = list(row)
        if row[0] == STORE:
            new[2] = phys[row[2]]
        else:
            if row[0] == WHERE:
                new[2:5] = [phys[r] for r in row[2:5]]
            elif row[0] not in (LOAD, CONST):
                new[2:2 + len(reads)] = [phys[r] for r in reads]
            if free:
                phys[row[1]] = free.pop()
            else:
                phys[row[1]] = count
                count += 1
            new[1] = phys[row[1]]
            if row[1] not in last:  # never read: its register is free at once
                free.append(new[1])
        for r in set(reads):
            if last[r] == k:
                free.append(phys[r])
        out.append(tuple(new))
    return out, count


def update_in_place(g):
    """A variable's new value computed by a fused node is written straight into the variable
    (no new array, no copy back) when the node also reads the variable and nothing after it
    reads the old value: within the fused kernel each block loads before it stores."""
    index = {id(n): k for k, n in enumerate(g.nodes)}
    producers = g.producers()
    consumers = g.consumers()
    var_value = {id(v.ref): v.id for v in g.values if v.kind == "variable"}
    assigned_to = {}
    for _, vid in g.updates:
        assigned_to[vid] = assigned_to.get(vid, 0) + 1
    done = set()
    for var, vid in g.updates:
        if assigned_to[vid] > 1:  # one value for several variables: each gets it by write-back
            continue
        node = producers.get(vid)
        old = var_value.get(id(var))
        if node is None or node.op is not FUSED_ELEMENTWISE or old is None or old not in node.inputs:
            continue
        # the old value and every view of it (a reshape shares the variable's buffer) must be
        # read before the node and not be a result
        views, stack = {old}, [old]
        while stack:
            for r in consumers.get(stack.pop(), []):
                if r.op.view and r.output not in views:
                    views.add(r.output)
                    stack.append(r.output)
        if views & set(g.roots()) or any(index[id(r)] > index[id(node)] for v in views for r in consumers.get(v, [])):
            continue
        if g.values[vid].shape != tuple(var.shape) or g.values[vid].dtype != var.dtype:
            continue
        node.attrs["inplace"] = node.attrs.get("inplace", ()) + ((node.outputs.index(vid), node.inputs.index(old)),)
        done.add(vid)
    g.inplace_updates = done
    return g
