"""GEMM epilogue fusion: `act(matmul(x, w) + bias)` becomes one `linear` kernel — the bias is
laid into the output before the GEMM accumulates onto it, and the activation runs while the
output is still in cache.

Legality: the matmul has a 2-D weight, no transpose of x, and its only consumer is an `add` of a
1-D bias of the output's last size; the activation (relu, sigmoid or tanh) joins only when the
sum has no other consumer and is not a result. The gradients of these activations read their
output, not the pre-activation, so in training too the whole epilogue fuses.
"""
import math

from layerkit.backend import core
from layerkit.graph.fusion import UNARY
from layerkit.graph.ir import Node
from layerkit.ops.primitive import register

_ACTIVATIONS = ("relu", "sigmoid", "tanh")


def _linear_forward(x, w, bias, transpose_w, activation):
    lead = x.shape[:-1]
    y = core.linear(x.reshape(math.prod(lead), x.shape[-1]), w, bias, transpose_w, activation)
    return y.reshape(lead + (y.shape[-1],))


LINEAR = register(
    "linear", forward=_linear_forward,
    infer=lambda x, w, bias, transpose_w, activation: (tuple(x.shape[:-1]) + (w.shape[0 if transpose_w else 1],),
                                                       x.dtype),
    grad=None, kernels=("linear",))


def fuse_gemm_epilogue(g):
    consumers = g.consumers()
    roots = set(g.roots())
    producers = g.producers()
    replace, drop = {}, set()
    for n in g.nodes:
        if n.op.name != "add" or len(n.inputs) != 2:
            continue
        mm_out, bias = n.inputs
        mm = producers.get(mm_out)
        if mm is None or mm.op.name != "matmul":
            mm_out, bias = bias, mm_out
            mm = producers.get(mm_out)
        if mm is None or mm.op.name != "matmul" or mm.attrs["transpose_a"] or id(mm) in drop:
            continue
        x, w = mm.inputs
        out_shape, b = g.values[mm_out].shape, g.values[bias]
        if (len(g.values[w].shape) != 2 or len(g.values[x].shape) < 2 or b.shape != out_shape[-1:]
                or b.dtype != g.values[mm_out].dtype or len(consumers.get(mm_out, [])) != 1 or mm_out in roots):
            continue
        act, final = -1, n
        users = consumers.get(n.output, [])
        if len(users) == 1 and n.output not in roots and users[0].op.name in _ACTIVATIONS:
            act, final = UNARY[users[0].op.name] - core.FUSED_UNARY_BASE, users[0]
        attrs = {"transpose_w": mm.attrs["transpose_b"], "activation": act}
        replace[id(final)] = Node(LINEAR, [x, w, bias], attrs, final.output)
        drop.update({id(mm), id(n)} - {id(final)})
    if replace:
        g.nodes = [replace.get(id(n), n) for n in g.nodes if id(n) not in drop]
    return g
