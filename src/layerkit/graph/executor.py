"""Running an optimized graph: the plan binds every value to a slot and calls each primitive's
forward kernel in order, with no per-op dispatch, conversion or tape work in between."""
from layerkit.backend import core
from layerkit.ops import Tensor


class PythonPlan:
    """Executes a Graph node by node through the primitives' forward kernels."""

    def __init__(self, graph):
        self.graph = graph
        values = graph.values
        self.slots = len(values)
        self.constants = [(v.id, v.ref) for v in values if v.kind == "constant"]
        self.variables = [(v.id, v.ref) for v in values if v.kind == "variable"]
        # a fused node's forward returns a list: one array per output value
        self.steps = [(n.op.forward, tuple(n.inputs), n.attrs,
                       tuple(n.outputs) if n.op.name == "fused_elementwise" else n.output) for n in graph.nodes]
        self.inputs = list(graph.inputs)
        self.outputs = list(graph.outputs)
        self.updates = [(var, vid) for var, vid in graph.updates]
        self.borrowed = {v.id for v in values if v.kind in ("variable", "input")}

    def run(self, arrays):
        env = [None] * self.slots
        for vid, a in zip(self.inputs, arrays):
            env[vid] = a
        for vid, a in self.constants:
            env[vid] = a
        for vid, var in self.variables:
            env[vid] = var._data
        for forward, ins, attrs, out in self.steps:
            result = forward(*[env[i] for i in ins], **attrs)
            if out.__class__ is tuple:  # a fused node: several outputs
                for o, r in zip(out, result):
                    env[o] = r
            else:
                env[out] = result
        # results first (copies where they could alias a buffer an update is about to overwrite),
        # then the writes, so every read in the step saw the values from before it
        results = [Tensor(env[o].copy() if (o in self.borrowed or env[o].base is not None) else env[o])
                   for o in self.outputs]
        for var, vid in self.updates:
            core.assign(var._data, env[vid])
            var._version += 1
        return results
