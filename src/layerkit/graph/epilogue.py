"""GEMM and conv epilogue fusion: `act(matmul(x, w) + bias)` becomes one `linear` kernel and
`act(conv2d(x, w) + bias)` one `conv2d_bias` kernel. Each thread adds the bias and applies the
activation to the output tile it just computed, while the tile is still in its core's cache,
instead of a second pass over the whole output.

Legality: the matmul has a 2-D weight and no transpose of x (the conv, any geometry); its only
consumer is an `add` of a 1-D bias of the output's last size and dtype, directly or through a
reshape that keeps the last axis (then the sum is reshaped after the fused kernel); the
activation (relu, sigmoid or tanh) joins only when the sum has no other consumer and is not a
result. The gradients of these activations read their output, not the pre-activation, so in
training too the whole epilogue fuses.
"""
import math

from layerkit.backend import core
from layerkit.graph.fusion import UNARY
from layerkit.graph.ir import Node
from layerkit.ops.convolution import _conv_spec, _resolve_pads
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


def _conv2d_bias_forward(x, w, bias, strides, padding, dilation, groups, activation):
    padding = _resolve_pads(padding, x.shape[1:3], w.shape[:2], strides, dilation)
    return core.conv2d_bias(x, w, bias, strides, padding, dilation, groups, activation)


CONV2D_BIAS = register(
    "conv2d_bias", forward=_conv2d_bias_forward,
    infer=lambda x, w, bias, activation, **conv: _conv_spec(x, w, **conv),
    grad=None, kernels=("conv2d_bias",))


def _matmul_epilogue(mm, g):
    """LINEAR and its attrs for a matmul node, or None when its form does not fit `linear`."""
    x, w = mm.inputs
    if mm.attrs["transpose_a"] or len(g.values[w].shape) != 2 or len(g.values[x].shape) < 2:
        return None
    return LINEAR, {"transpose_w": mm.attrs["transpose_b"]}


_PRODUCERS = {
    "matmul": _matmul_epilogue,
    "conv2d": lambda node, g: (CONV2D_BIAS, dict(node.attrs)),
}


def _product_of(vid, g, producers, consumers, roots):
    """(producer node, reshape node or None) when value `vid` is a matmul/conv output, or such an
    output reshaped with its last axis kept (a 3-D input projected by a 2-D GEMM); else None."""
    p = producers.get(vid)
    if p is not None and p.op.name == "reshape":
        src = p.inputs[0]
        inner = producers.get(src)
        if (inner is not None and inner.op.name in _PRODUCERS and len(consumers.get(src, [])) == 1 and src not in roots
                and g.values[src].shape[-1:] == g.values[vid].shape[-1:]):
            return inner, p
        return None
    return (p, None) if p is not None and p.op.name in _PRODUCERS else None


def fuse_epilogues(g):
    consumers = g.consumers()
    roots = set(g.roots())
    producers = g.producers()
    replace, drop = {}, set()
    for n in g.nodes:
        if n.op.name != "add" or len(n.inputs) != 2:
            continue
        out, bias = n.inputs
        found = _product_of(out, g, producers, consumers, roots)
        if found is None:
            out, bias = bias, out
            found = _product_of(out, g, producers, consumers, roots)
        if found is None or id(found[0]) in drop:
            continue
        prod, view = found
        fused = _PRODUCERS[prod.op.name](prod, g)
        out_spec, b = g.values[out], g.values[bias]
        if (fused is None or b.shape != out_spec.shape[-1:] or b.dtype != out_spec.dtype
                or len(consumers.get(out, [])) != 1 or out in roots):
            continue
        act, final = -1, n
        users = consumers.get(n.output, [])
        if len(users) == 1 and n.output not in roots and users[0].op.name in _ACTIVATIONS:
            act, final = UNARY[users[0].op.name] - core.FUSED_UNARY_BASE, users[0]
        op, attrs = fused
        node = Node(op, [*prod.inputs, bias], {**attrs, "activation": act}, final.output if view is None else prod.output)
        # through a reshape: the fused kernel writes the product's own value, reshaped after
        replace[id(final)] = [node] if view is None else [node, Node(view.op, [prod.output], view.attrs, final.output)]
        drop.update({id(prod), id(n)} - {id(final)})
        if view is not None:
            drop.add(id(view))
    if replace:
        nodes = []
        for n in g.nodes:
            if id(n) in replace:
                nodes.extend(replace[id(n)])
            elif id(n) not in drop:
                nodes.append(n)
        g.nodes = nodes
    return g
