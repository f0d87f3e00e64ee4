"""The graph IR: values (inputs, captured variables, constants, node outputs) and nodes of
registered primitives in topological order. Nodes are plain data — op, input value ids, attrs —
so passes rewrite lists, and the executor lowers them to a plan."""
import numpy as np


class Value:
    """One SSA value. kind: "input" (a function argument), "variable" (a captured Variable, read
    by reference at each run), "constant" (a captured array), or "node" (a node's output)."""

    __slots__ = ("id", "kind", "shape", "dtype", "ref")

    def __init__(self, vid, kind, shape, dtype, ref=None):
        self.id, self.kind, self.shape, self.dtype, self.ref = vid, kind, tuple(shape), dtype, ref

    def __repr__(self):
        return f"%{self.id}:{self.kind}{self.shape}:{self.dtype}"


class Node:
    """`output = op(*inputs, **attrs)` with value ids. A node made by fusion may produce several
    values (`outputs`; its forward returns a list); `output` is the first."""

    __slots__ = ("op", "inputs", "attrs", "outputs")

    def __init__(self, op, inputs, attrs, output, outputs=None):
        self.op, self.inputs, self.attrs = op, list(inputs), dict(attrs)
        self.outputs = list(outputs) if outputs is not None else [output]

    @property
    def output(self):
        return self.outputs[0]


class Graph:
    """A traced function: `inputs` (value ids, flat argument order), `outputs` (value ids),
    `updates` [(variable, value id)] written back after the outputs are computed, and `nodes`."""

    def __init__(self):
        self.values = []
        self.nodes = []
        self.inputs = []
        self.outputs = []
        self.updates = []
        self.inplace_updates = set()  # update values already written into their variable

    def new_value(self, kind, shape, dtype, ref=None):
        v = Value(len(self.values), kind, shape, dtype, ref)
        self.values.append(v)
        return v.id

    def producers(self):
        return {o: n for n in self.nodes for o in n.outputs}

    def consumers(self):
        uses = {}
        for n in self.nodes:
            for i in n.inputs:
                uses.setdefault(i, []).append(n)
        return uses

    def roots(self):
        """Value ids the graph must produce: outputs and written-back values."""
        return list(self.outputs) + [vid for _, vid in self.updates]

    def kernel_counts(self):
        counts = {}
        for n in self.nodes:
            counts[n.op.name] = counts.get(n.op.name, 0) + 1
        return counts

    def copy(self):
        g = Graph()
        g.values = [Value(v.id, v.kind, v.shape, v.dtype, v.ref) for v in self.values]
        g.nodes = [Node(n.op, n.inputs, n.attrs, None, n.outputs) for n in self.nodes]
        g.inputs, g.outputs, g.updates = list(self.inputs), list(self.outputs), list(self.updates)
        g.inplace_updates = set(self.inplace_updates)
        return g

    def __str__(self):
        lines = []
        used = {i for n in self.nodes for i in n.inputs} | set(self.roots())
        for vid in self.inputs:
            lines.append(f"  input    {self.values[vid]}")
        for v in self.values:
            if v.id not in used:
                continue
            if v.kind == "variable":
                lines.append(f"  variable {v} = {v.ref.path}")
            elif v.kind == "constant":
                text = np.array2string(v.ref, threshold=6, edgeitems=2).replace("\n", " ")
                lines.append(f"  constant {v} = {text}")
        for n in self.nodes:
            attrs = ", ".join(f"{k}={_short(val)}" for k, val in n.attrs.items() if k not in _UNPRINTED)
            args = ", ".join(f"%{i}" for i in n.inputs)
            outs = ", ".join(str(self.values[o]) for o in n.outputs)
            lines.append(f"  {outs} = {n.op.name}({args}{', ' if attrs and args else ''}{attrs})")
            if "ops" in n.attrs:
                lines.append(f"      fuses: {' -> '.join(n.attrs['ops'])}")
            for key in ("cond_plan", "body_plan", "true_plan", "false_plan"):  # its own graphs, indented
                plan = n.attrs.get(key)
                if plan is not None and hasattr(plan, "graph"):
                    title = {"cond_plan": "condition", "body_plan": "body" if n.op.name == "while" else "step",
                             "true_plan": "true branch", "false_plan": "false branch"}[key]
                    lines.append(f"      {title}: " + str(plan.graph).replace("\n", "\n      "))
        for var, vid in self.updates:
            lines.append(f"  {var.path} <- %{vid}{' (in place)' if vid in self.inplace_updates else ''}")
        lines.append(f"  return {', '.join(f'%{o}' for o in self.outputs)}")
        counts = ", ".join(f"{k} x{v}" for k, v in sorted(self.kernel_counts().items()))
        return f"Graph: {len(self.nodes)} kernels per call ({counts})\n" + "\n".join(lines)


# attrs the printout leaves out: a fused kernel's bytecode, a loop's Python helpers (its graphs
# print under it)
_UNPRINTED = {"code", "immediates", "cond_plan", "body_plan", "step", "free_sources", "cond_free", "body_free",
              "true_plan", "false_plan", "true_fn", "false_fn", "members"}


def _short(v):
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
