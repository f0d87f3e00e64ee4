"""Running an optimized graph: the plan binds every value to a slot and calls each primitive's
forward kernel in order, with no per-op dispatch, conversion or tape work in between."""
import functools
import time

import numpy as np

from layerkit.backend import core
from layerkit.ops import Tensor


class PythonPlan:
    """Executes a Graph node by node through the primitives' forward kernels."""

    def __init__(self, graph):
        self.graph = graph
        values = graph.values
        self.slots = len(values)
        self.variables = [(v.id, v.ref) for v in values if v.kind == "variable"]
        # attrs bound once (a partial calls with them from C); a fused node's forward returns a
        # list, one array per output value
        self.steps = [(functools.partial(n.op.forward, **n.attrs), tuple(n.inputs),
                       tuple(n.outputs) if n.op.name == "fused_elementwise" else n.output) for n in graph.nodes]
        self.template = [None] * self.slots
        for v in values:
            if v.kind == "constant":
                self.template[v.id] = v.ref
        self.inputs = list(graph.inputs)
        self.outputs = list(graph.outputs)
        self.updates = [(var, vid, vid in graph.inplace_updates) for var, vid in graph.updates]
        # values whose buffer belongs to someone else: results made of them are copied
        self.borrowed = {v.id for v in values if v.kind in ("variable", "input")} | set(graph.inplace_updates)

    def _env(self, arrays):
        """The value slots at the start of a run: constants, arguments, variables' buffers."""
        env = self.template.copy()
        for vid, a in zip(self.inputs, arrays):
            env[vid] = a
        for vid, var in self.variables:
            env[vid] = var._data
        return env

    def run(self, arrays):
        env = self._env(arrays)
        for forward, ins, out in self.steps:
            n = len(ins)
            if n == 1:
                result = forward(env[ins[0]])
            elif n == 2:
                result = forward(env[ins[0]], env[ins[1]])
            else:
                result = forward(*[env[i] for i in ins])
            if out.__class__ is tuple:  # a fused node: several outputs
                for o, r in zip(out, result):
                    env[o] = r
            else:
                env[out] = result
        # results first (copies where they could alias a buffer an update is about to overwrite),
        # then the writes, so every read in the step saw the values from before it
        # (stop_gradient passes a variable's own array through: not a view, but borrowed all the same)
        buffers = [var._data for _, var in self.variables]
        results = [Tensor(env[o].copy() if (o in self.borrowed or env[o].base is not None
                                            or any(env[o] is b for b in buffers)) else env[o])
                   for o in self.outputs]
        self._write_back(env)
        for var, _, _ in self.updates:
            var._version += 1
        return results

    def _write_back(self, env):
        """The variables' new values, in order; a value reading a variable's buffer in place
        (`w.value`) is copied before an earlier write-back overwrites that buffer."""
        writes = [(var, env[vid]) for var, vid, in_place in self.updates if not in_place]
        writes = [(var, value.copy() if any(np.may_share_memory(value, earlier._data) for earlier, _ in writes[:k])
                   else value) for k, (var, value) in enumerate(writes)]
        for var, value in writes:
            core.assign(var._data, value)

    def profile(self, arrays, repeats=5):
        """Seconds per node (median over `repeats` runs), as [(node label, seconds)], in order.
        Runs the plan like `run`, variable updates included."""
        times = [[] for _ in self.steps]
        for _ in range(repeats):
            env = self._env(arrays)
            for k, (forward, ins, out) in enumerate(self.steps):
                t = time.perf_counter()
                result = forward(*[env[i] for i in ins])
                times[k].append(time.perf_counter() - t)
                if out.__class__ is tuple:
                    for o, r in zip(out, result):
                        env[o] = r
                else:
                    env[out] = result
            self._write_back(env)
        labels = [node_label(n, [self.graph.values[i].shape for i in n.inputs]) for n in self.graph.nodes]
        return [(label, sorted(t)[len(t) // 2]) for label, t in zip(labels, times)]


def node_label(node, shapes):
    """A node as profiles list it: op(input shapes), and the ops a fused node runs."""
    extra = f" [{'+'.join(node.attrs['ops'])}]" if "ops" in node.attrs else ""
    return f"{node.op.name}({','.join(str(s) for s in shapes)}){extra}"
