"""Shape and layout ops: reshape, transpose, broadcast, slicing, concatenation, padding,
gathers. Data moves through the core's strided-copy and gather/scatter kernels."""
import builtins

import math

import numpy as np

from layerkit.backend import contiguous, core
from layerkit.ops import core as C
from layerkit.ops.primitive import apply, is_tracing, register
from layerkit.ops.tensor import SymbolicTensor, Tensor

# ---- reshape ---------------------------------------------------------------------------------


def _reshape_spec(x, shape):
    known = [d for d in x.shape]
    # several -1 only where sizes are unknown anyway (symbolic shapes): each stays unknown
    if shape.count(-1) > 1 and None not in known:
        raise ValueError(f"reshape: at most one -1 is allowed in `newshape`, received {shape}.")
    if any(d < -1 for d in shape):
        raise ValueError(f"reshape: invalid dimension in `newshape`={shape}.")
    if None in known:
        return tuple(None if d == -1 else d for d in shape), x.dtype
    total = math.prod(known)
    rest = math.prod([d for d in shape if d != -1])
    if -1 in shape:
        if rest == 0 or total % rest:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {C.shape_str(x.shape)} ({total} elements) "
                             f"into {shape}.")
        shape = tuple(total // rest if d == -1 else d for d in shape)
    elif rest != total:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {C.shape_str(x.shape)} ({total} elements) "
                         f"into shape {C.shape_str(shape)} ({rest} elements).")
    return tuple(shape), x.dtype


RESHAPE = register("reshape", forward=lambda x, shape: x.reshape(shape), infer=_reshape_spec,
                   grad=lambda ctx, g: (reshape(g, ctx.inputs[0].shape),), view=True)


def _unchanged(x):
    """The result of an op that changes nothing: `x` itself, except for a Variable, whose buffer
    later assigns overwrite; it gets a recorded no-op reshape, which `apply` copies."""
    if x.__class__ is Tensor or not isinstance(x, Tensor):
        return x
    return apply(RESHAPE, x, shape=x.shape)


def reshape(x, newshape):
    """Gives `x` a new shape with the same elements (one dimension may be -1)."""
    x = C.convert_to_tensor(x)
    if not isinstance(newshape, (int, np.integer)):
        given = tuple(newshape)
        newshape = _keep_unknown(x.shape, given)
        # (a Functional model's shape pass may keep several unknown sizes; a traced function's
        # reshape must resolve them when it runs)
        if None in given and builtins.sum(d is None or d == -1 for d in newshape) > 1 and is_tracing():
            raise ValueError(f"reshape: `newshape` {given} has more than one unknown size (None counts as one, as "
                             f"-1 does) for an input of shape {tuple(x.shape)}; give all but one size.")
    newshape = (int(newshape),) if isinstance(newshape, (int, np.integer)) else tuple(
        -1 if d is None else int(d) for d in newshape)
    if newshape == x.shape:
        return _unchanged(x)
    if isinstance(x, SymbolicTensor):
        return apply(RESHAPE, x, shape=newshape)  # the shape rule checks and explains
    try:
        if newshape and min(newshape) < -1:
            raise ValueError  # numpy would take any negative size as "infer this one"
        return apply(RESHAPE, x, shape=newshape)
    except ValueError:
        _reshape_spec(x, newshape)  # raises the error that names the op and both shapes
        raise


def _keep_unknown(shape, newshape):
    """`newshape` with an unknown size (None) standing for the input's own unknown size at that
    position, beside a -1 (`reshape(x, (ops.shape(x)[0], -1))`, a flatten over an unknown batch):
    the -1 is then computed from the input's other sizes, and the None becomes the one -1."""
    unknown = [i for i, d in enumerate(newshape) if d is None]
    if len(unknown) != 1 or -1 not in newshape:
        return newshape
    i = unknown[0]
    rest = [d for k, d in enumerate(shape) if k != i]
    known = [d for d in newshape if d is not None and d != -1]
    if i >= len(shape) or shape[i] is not None or None in rest or not known and not rest:
        return newshape
    total, part = math.prod(rest), math.prod(known)
    if part == 0 or total % part:
        return newshape
    return tuple(-1 if d is None else total // part if d == -1 else d for d in newshape)


def _expand_spec(x, axes):
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return tuple(shape), x.dtype


def _squeeze_spec(x, axes):
    return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype


# Own primitives (views, like reshape) rather than reshapes: they need no other sizes, so they
# work on symbolic tensors with several unknown dimensions.
def _expand_forward(x, axes):
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return x.reshape(shape)  # a view; numpy's expand_dims costs microseconds of argument handling


EXPAND_DIMS = register(
    "expand_dims", forward=_expand_forward, infer=_expand_spec,
    grad=lambda ctx, g: (apply(SQUEEZE, g, axes=ctx.attrs["axes"]),), view=True)
SQUEEZE = register(
    "squeeze", forward=lambda x, axes: x.reshape([d for i, d in enumerate(x.shape) if i not in axes]),
    infer=_squeeze_spec,
    grad=lambda ctx, g: (apply(EXPAND_DIMS, g, axes=ctx.attrs["axes"]),), view=True)


def _merge_spec(x, axis):
    a, b = x.shape[axis], x.shape[axis + 1]
    return x.shape[:axis] + (None if a is None or b is None else a * b,) + x.shape[axis + 2:], x.dtype


# Reshapes that need no sizes: axes `axis` and `axis + 1` merged into one, and a tensor given the
# shape of another (read when the graph runs): they work where sizes are unknown until then.
RESHAPE_LIKE = register(
    "reshape_like", forward=lambda g, like: g.reshape(like.shape), infer=lambda g, like: (like.shape, g.dtype),
    grad=lambda ctx, gg: (apply(RESHAPE_LIKE, gg, ctx.inputs[0]), None), view=True)
MERGE_AXES = register(
    "merge_axes", forward=lambda x, axis: x.reshape(x.shape[:axis] + (-1,) + x.shape[axis + 2:]), infer=_merge_spec,
    grad=lambda ctx, g: (apply(RESHAPE_LIKE, g, ctx.inputs[0]),), view=True)


def merge_axes(x, axis):
    """`x` with axes `axis` and `axis + 1` merged into one (their sizes need not be known)."""
    x = C.convert_to_tensor(x)
    return apply(MERGE_AXES, x, axis=C.normalize_axis("merge_axes", axis, x.ndim - 1))


def expand_dims(x, axis):
    """Inserts axes of size 1 at `axis` (an int or a tuple, positions in the result)."""
    x = C.convert_to_tensor(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    nd = x.ndim + len(axes)
    axes = tuple(sorted(C.normalize_axis("expand_dims", a, nd) for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"expand_dims: repeated axis in {axis!r}.")
    return apply(EXPAND_DIMS, x, axes=axes)


def squeeze(x, axis=None):
    """Removes axes of size 1 (all of them when `axis` is None)."""
    x = C.convert_to_tensor(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = C.normalize_axes("squeeze", axis, x.ndim)
        for a in axes:
            if x.shape[a] is not None and x.shape[a] != 1:
                raise ValueError(f"squeeze: cannot squeeze axis {a} of a tensor of shape {C.shape_str(x.shape)}: "
                                 f"its size is {x.shape[a]}, not 1.")
    if not axes:
        return _unchanged(x)
    return apply(SQUEEZE, x, axes=tuple(axes))


def ravel(x):
    return reshape(x, (-1,))


# ---- transpose ---------------------------------------------------------------------------------


def _transpose_spec(x, axes):
    return tuple(x.shape[a] for a in axes), x.dtype


TRANSPOSE = register(
    "transpose", forward=lambda x, axes: contiguous(x.transpose(axes)), infer=_transpose_spec,
    grad=lambda ctx, g: (transpose(g, tuple(np.argsort(ctx.attrs["axes"]).tolist())),), kernels=("copy",),
    view=True)  # moving size-1 axes leaves the view contiguous, so it is not copied


def transpose(x, axes=None):
    """Permutes the axes of `x` (reverses them when `axes` is None)."""
    x = C.convert_to_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim))[::-1]
    axes = tuple(C.normalize_axis("transpose", a, x.ndim, "axes") for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: `axes` must be a permutation of {list(range(x.ndim))}, received {axes}.")
    if axes == tuple(range(x.ndim)):
        return _unchanged(x)
    return apply(TRANSPOSE, x, axes=axes)


def moveaxis(x, source, destination):
    """Moves axes `source` (an int or a sequence) to positions `destination`; the others keep their order."""
    x = C.convert_to_tensor(x)
    src, dst = ([source], [destination]) if isinstance(source, (int, np.integer)) else (list(source), list(destination))
    src = [C.normalize_axis("moveaxis", a, x.ndim, "source") for a in src]
    dst = [C.normalize_axis("moveaxis", a, x.ndim, "destination") for a in dst]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: `source` and `destination` must be unique axes of the same length, "
                         f"received {source!r} and {destination!r}.")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def swapaxes(x, axis1, axis2):
    x = C.convert_to_tensor(x)
    order = list(range(x.ndim))
    a = C.normalize_axis("swapaxes", axis1, x.ndim, "axis1")
    b = C.normalize_axis("swapaxes", axis2, x.ndim, "axis2")
    order[a], order[b] = order[b], order[a]
    return transpose(x, order)


# ---- broadcast_to and its adjoint sum_to -----------------------------------------------------------


def _broadcast_to_spec(x, shape):
    out = C.broadcast_shapes("broadcast_to", x.shape, shape)
    if out != tuple(shape):
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {C.shape_str(x.shape)} "
                         f"to shape {C.shape_str(shape)}.")
    return tuple(shape), x.dtype


BROADCAST_TO = register(
    "broadcast_to", forward=core.broadcast_to, infer=_broadcast_to_spec,
    grad=lambda ctx, g: (sum_to(g, ctx.inputs[0]),), kernels=("broadcast_to",))


def broadcast_to(x, shape):
    x = C.convert_to_tensor(x)
    if x.shape == tuple(shape):  # before int(): a symbolic tensor may keep its None dimensions
        return _unchanged(x)
    if any(d is None for d in shape):
        raise ValueError(f"broadcast_to: the target shape {tuple(shape)} has unknown dimensions (a traced function "
                         "with None dimensions); broadcast against a tensor instead (x + ops.zeros_like(y)).")
    shape = tuple(int(d) for d in shape)
    try:
        return apply(BROADCAST_TO, x, shape=shape)
    except ValueError:
        _broadcast_to_spec(x, shape)  # raises the error that names both shapes
        raise


# g broadcast to the shape of `like`, read at run time: the reduction gradients use it, so they
# work where sizes are known only when the graph runs (traced with None dimensions).
BROADCAST_LIKE = register(
    "broadcast_like", forward=lambda g, like: core.broadcast_to(g, like.shape), infer=lambda g, like: (like.shape,
                                                                                                      g.dtype),
    grad=lambda ctx, gg: (sum_to(gg, ctx.inputs[0]), None), kernels=("broadcast_to",))


def broadcast_like(g, like):
    """`g` broadcast to `like`'s shape (known at run time only, if need be)."""
    if g.shape == like.shape and None not in g.shape:
        return g
    return apply(BROADCAST_LIKE, g, like)


def _sum_like_axes(g_shape, like_shape):
    """The axes of `g_shape` along which a tensor of `like_shape` was broadcast to it."""
    lead = len(g_shape) - len(like_shape)
    return tuple(range(lead)) + tuple(lead + i for i, d in enumerate(like_shape) if d == 1 and g_shape[lead + i] != 1)


def _sum_like_forward(g, like):
    from layerkit.ops.reduction import reduce_passes

    for outer, n, inner in reduce_passes(g.shape, _sum_like_axes(g.shape, like.shape)):
        g = core.sum(g, outer, n, inner)
    return g.reshape(like.shape)


# g summed to the shape of `like`, read at run time: the broadcasting gradients use it where a
# size is known only when the graph runs (a None dimension may be 1 then, and broadcast).
SUM_LIKE = register(
    "sum_like", forward=_sum_like_forward, infer=lambda g, like: (like.shape, g.dtype),
    grad=lambda ctx, gg: (broadcast_like(gg, ctx.inputs[0]), None), kernels=("sum",))


def sum_to(g, target):
    """Sums `g` over the axes along which `target` (a tensor, or a shape) was broadcast to `g`'s
    shape. Given a tensor whose or g's sizes are partly unknown (None), the axes are found when
    the graph runs."""
    shape = tuple(target.shape) if hasattr(target, "shape") else tuple(target)
    if None in shape or None in tuple(g.shape):
        if hasattr(target, "shape") and len(shape) <= g.ndim:
            return apply(SUM_LIKE, g, target)
    if g.shape == shape:
        return g
    from layerkit.ops.reduction import sum as _sum

    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1)
    return reshape(_sum(g, axis=axes), shape) if axes else reshape(g, shape)


# ---- basic indexing ------------------------------------------------------------------------------


def _normalize_key(key, shape):
    """Basic-indexing key -> tuple of ("i", index) / ("s", start, stop, step) / ("n",), one entry
    per output-affecting item, with Ellipsis expanded. Raises IndexError for out-of-range ints."""
    key = key if isinstance(key, tuple) else (key,)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > len(shape):
        raise IndexError(f"getitem: too many indices ({n_real}) for a tensor of rank {len(shape)}.")
    out, axis = [], 0
    for k in key:
        if k is Ellipsis:
            for _ in range(len(shape) - n_real):
                out.append(("s", None, None, None))
                axis += 1
        elif k is None:
            out.append(("n",))
        elif isinstance(k, slice):
            out.append(("s", k.start, k.stop, k.step))
            axis += 1
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            d = shape[axis]
            if d is not None and not -d <= k < d:
                raise IndexError(f"getitem: index {k} is out of bounds for axis {axis} with size {d}.")
            out.append(("i", int(k) % d if d else int(k)))
            axis += 1
        else:
            raise TypeError(f"getitem: unsupported index {k!r}; use ints, slices, None, Ellipsis, "
                            "or an int tensor/array on one axis (ops.take).")
    out += [("s", None, None, None)] * (len(shape) - axis)
    return tuple(out)


def _numpy_key(nkey):
    # the trailing Ellipsis makes an all-int key give a 0-d array view, not a numpy scalar copy
    return tuple(k[1] if k[0] == "i" else None if k[0] == "n" else slice(*k[1:]) for k in nkey) + (Ellipsis,)


def _getitem_spec(x, key):
    shape, axis = [], 0
    for k in key:
        if k[0] == "n":
            shape.append(1)
            continue
        d = x.shape[axis]
        axis += 1
        if k[0] == "s":
            shape.append(None if d is None else len(range(*slice(*k[1:]).indices(d))))
    return tuple(shape), x.dtype


class SliceGrad:
    """A gradient that is `g` inside slice `key` of a tensor of `shape` and zero elsewhere.

    The tape gathers the slice gradients each tensor receives — an RNN reads one time step per
    slice — and writes them into one zero tensor at once, instead of adding up as many
    full-size tensors, which would cost the square of the sequence length.
    """

    __slots__ = ("key", "g", "shape", "like")

    def __init__(self, key, g, shape, like=None):
        # like: the sliced tensor, kept when its shape has unknown sizes (read when the graph runs)
        self.key, self.g, self.shape, self.like = key, g, shape, like


def _runs(keys, shape):
    """(axis, [(lo, hi) per key]) when every key selects a contiguous run along one common axis
    and all of every other axis (an RNN's time steps, a layer's gates); None otherwise."""
    axis, runs = None, []
    for key in keys:
        if any(k[0] == "n" for k in key):
            return None
        run = None
        for a, (k, n) in enumerate(zip(key, shape)):
            if k[0] == "s" and k[1:] == (None, None, None):
                continue
            if run is not None or (axis is not None and a != axis):
                return None
            axis = a
            if k[0] == "i":
                run = (k[1], k[1] + 1)
            elif k[3] in (None, 1):
                lo, hi, _ = slice(k[1], k[2]).indices(n)
                run = (lo, max(lo, hi))
            else:
                return None
        runs.append(run)
    if axis is None:
        return None
    return axis, [(0, shape[axis]) if r is None else r for r in runs]


def slice_grad_layout(keys, shape):
    """How the slices `keys` of an array of `shape` lie: "tiled" (disjoint runs along one axis
    covering it: each gradient is written once, no zero-fill), "disjoint" (written once into
    zeros) or "overlapping" (added into zeros)."""
    found = _runs(keys, shape)
    if found is not None:
        axis, runs = found
        ordered = sorted(runs)
        if all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:])):
            tiled = ordered[0][0] == 0 and ordered[-1][1] == shape[axis] and all(
                a[1] == b[0] for a, b in zip(ordered, ordered[1:]))
            return "tiled" if tiled else "disjoint"
    return "overlapping"


def _getitem_grad_forward(*gs, shape, keys, like=False):
    if like:  # the last input is the sliced tensor: its shape, known now
        shape, gs = gs[-1].shape, gs[:-1]
    layout = slice_grad_layout(keys, shape)
    if layout != "overlapping":
        out = (np.empty if layout == "tiled" else np.zeros)(shape, gs[0].dtype)
        for g, key in zip(gs, keys):
            core.assign(out[_numpy_key(key)], g)
        return out
    out = np.zeros(shape, gs[0].dtype)
    for g, key in zip(gs, keys):
        view = out[_numpy_key(key)]
        core.assign(view, core.add(view, g))  # slices may overlap: contributions add up
    return out


def _getitem_grad_spec(*gs, shape, keys, like=False):
    return (tuple(gs[-1].shape) if like else shape), gs[0].dtype


GETITEM = register(
    "getitem", forward=lambda x, key: contiguous(x[_numpy_key(key)]), infer=_getitem_spec,
    grad=lambda ctx, g: (SliceGrad(ctx.attrs["key"], g, ctx.inputs[0].shape,
                                   ctx.inputs[0] if None in tuple(ctx.inputs[0].shape) else None),),
    kernels=("copy",), view=True)
GETITEM_GRAD = register(
    "getitem_grad", forward=_getitem_grad_forward, infer=_getitem_grad_spec,
    grad=lambda ctx, gg: tuple(apply(GETITEM, gg, key=k) for k in ctx.attrs["keys"]) + (
        (None,) if ctx.attrs.get("like") else ()), kernels=("assign", "add"))


def scatter_slices(slice_grads):
    """One tensor holding every SliceGrad of a list (all for the same tensor shape). Where that
    shape has unknown sizes, the sliced tensor is a last input, which gives them at run time."""
    like = slice_grads[0].like
    extra = (like,) if like is not None else ()
    return apply(GETITEM_GRAD, *[s.g for s in slice_grads], *extra, shape=slice_grads[0].shape,
                 keys=tuple(s.key for s in slice_grads), like=like is not None)


def getitem(x, key):
    """`x[key]`: basic indexing (ints, slices, None, Ellipsis), or an integer tensor/array/list
    selecting along the first axis (as `take`)."""
    x = C.convert_to_tensor(x)
    if isinstance(key, (list, np.ndarray, Tensor)) or hasattr(key, "shape"):
        idx = C.convert_to_tensor(key)
        if idx.dtype == "bool":
            raise TypeError("getitem: boolean-mask indexing gives a data-dependent shape and is not supported; "
                            "use ops.where(mask, x, 0) or gather the indices first.")
        return take(x, idx, axis=0)
    return apply(GETITEM, x, key=_normalize_key(key, x.shape))


# ---- concatenate, stack, split ------------------------------------------------------------------------


def _concat_spec(*xs, axis):
    first = xs[0]
    for i, x in enumerate(xs[1:], 1):
        if x.ndim != first.ndim or any(a != b and None not in (a, b)
                                       for j, (a, b) in enumerate(zip(x.shape, first.shape)) if j != axis):
            raise ValueError(f"concatenate: all inputs must have the same shape except along axis {axis}; input 0 "
                             f"has shape {C.shape_str(first.shape)}, input {i} has {C.shape_str(x.shape)}.")
    sizes = [x.shape[axis] for x in xs]
    shape = list(first.shape)
    shape[axis] = None if None in sizes else builtins.sum(sizes)
    return tuple(shape), first.dtype


def concat_slices(sizes, axis):
    """The index of each part in a concatenation of parts `sizes` long along `axis`."""
    starts = np.cumsum((0,) + tuple(sizes)).tolist()
    return [(slice(None),) * axis + (slice(a, b),) for a, b in zip(starts, starts[1:])]


def _concat_forward(*xs, axis):
    shape = list(xs[0].shape)
    shape[axis] = builtins.sum(x.shape[axis] for x in xs)
    out = np.empty(shape, xs[0].dtype)
    for x, sl in zip(xs, concat_slices([x.shape[axis] for x in xs], axis)):
        core.assign(out[sl], x)
    return out


def _concat_grad(ctx, g):
    axis, start, grads = ctx.attrs["axis"], 0, []
    if any(x.shape[axis] is None for x in ctx.inputs):  # parts of sizes known only when the graph runs
        return tuple(apply(CONCAT_PART, g, *ctx.inputs, axis=axis, index=i) if ctx.needs(i) else None
                     for i in range(len(ctx.inputs)))
    for i, x in enumerate(ctx.inputs):
        n = x.shape[axis]
        grads.append(getitem(g, (slice(None),) * axis + (slice(start, start + n),)) if ctx.needs(i) else None)
        start += n
    return tuple(grads)


def _concat_part_forward(g, *parts, axis, index):
    return contiguous(g[concat_slices([x.shape[axis] for x in parts], axis)[index]])


# part `index` of a concatenation's gradient `g`, its bounds read from the parts when the graph
# runs (a concatenation along an axis of unknown sizes); its own gradient puts it back in place
CONCAT_PART = register(
    "concat_part", forward=_concat_part_forward, infer=lambda g, *parts, axis, index: (parts[index].shape, g.dtype),
    grad=lambda ctx, gg: (apply(CONCATENATE, *[gg if i == ctx.attrs["index"] else C.zeros_like(x)
                                                for i, x in enumerate(ctx.inputs[1:])], axis=ctx.attrs["axis"]),)
    + (None,) * (len(ctx.inputs) - 1), kernels=("copy",))


CONCATENATE = register("concatenate", forward=_concat_forward, infer=_concat_spec, grad=_concat_grad,
                       kernels=("assign",))


def concatenate(xs, axis=0):
    """Joins tensors along an existing axis."""
    xs = [C.convert_to_tensor(x) for x in xs]
    if not xs:
        raise ValueError("concatenate: expected at least one tensor.")
    dtype = xs[0].dtype
    for x in xs[1:]:
        if x.dtype != dtype:
            from layerkit.backend import result_type
            dtype = result_type(dtype, x.dtype)
    xs = [C.cast(x, dtype) for x in xs]
    axis = C.normalize_axis("concatenate", axis, xs[0].ndim)
    if len(xs) == 1:
        return _unchanged(xs[0])
    if all(isinstance(x, Tensor) for x in xs):
        _concat_spec(*xs, axis=axis)  # the error names the shapes; the kernel's would not
    return apply(CONCATENATE, *xs, axis=axis)


def stack(xs, axis=0):
    """Joins tensors of one shape along a new axis."""
    xs = [C.convert_to_tensor(x) for x in xs]
    if not xs:
        raise ValueError("stack: expected at least one tensor.")
    for i, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise ValueError(f"stack: all inputs must have the same shape; input 0 has shape "
                             f"{C.shape_str(xs[0].shape)}, input {i} has {C.shape_str(x.shape)}.")
    axis = C.normalize_axis("stack", axis, xs[0].ndim + 1)
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Splits `x` into equal sections (an int) or at the given indices (a list), as numpy."""
    x = C.convert_to_tensor(x)
    axis = C.normalize_axis("split", axis, x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"split: an axis of size {n} cannot be split into {indices_or_sections} equal sections.")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    pre = (slice(None),) * axis
    return [getitem(x, pre + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


# ---- tile, repeat, pad ------------------------------------------------------------------------


def tile(x, repeats):
    """Repeats the whole of `x` `repeats[i]` times along axis i."""
    x = C.convert_to_tensor(x)
    reps = (int(repeats),) if isinstance(repeats, (int, np.integer)) else tuple(int(r) for r in repeats)
    if len(reps) > x.ndim:
        x = reshape(x, (1,) * (len(reps) - x.ndim) + x.shape)
    reps = (1,) * (x.ndim - len(reps)) + reps
    if None in x.shape:  # sizes known only when the graph runs: copies side by side, axis by axis
        for axis, r in enumerate(reps):
            if r != 1:
                x = concatenate([x] * r, axis=axis)
        return x
    inter = [v for d in x.shape for v in (1, d)]
    target = [v for r, d in zip(reps, x.shape) for v in (r, d)]
    return reshape(broadcast_to(reshape(x, inter), target), [r * d for r, d in zip(reps, x.shape)])


def repeat(x, repeats, axis=None):
    """Repeats each element of `x` (along `axis`, or of the flattened `x` when None)."""
    x = C.convert_to_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    axis = C.normalize_axis("repeat", axis, x.ndim)
    if isinstance(repeats, (int, np.integer)):
        shape = list(x.shape)
        e = expand_dims(x, axis + 1)
        if None in shape:  # sizes known only when the graph runs: copies side by side, axes merged
            return merge_axes(concatenate([e] * int(repeats), axis=axis + 1), axis)
        target = shape[:axis + 1] + [int(repeats)] + shape[axis + 1:]
        shape[axis] *= int(repeats)
        return reshape(broadcast_to(e, target), shape)
    index = np.repeat(np.arange(x.shape[axis]), np.asarray(repeats))
    return take(x, Tensor(index.astype("int64")), axis=axis)


def _pad_spec(x, pad_width, constant_values):
    if len(pad_width) != x.ndim:
        raise ValueError(f"pad: `pad_width` needs one (before, after) pair per axis ({x.ndim}), "
                         f"received {len(pad_width)}.")
    return tuple(None if d is None else d + a + b for d, (a, b) in zip(x.shape, pad_width)), x.dtype


def pad_interior(shape, pad_width):
    """The index of the unpadded input inside the padded output (counted from both ends, so it
    needs no size: a traced input may have unknown ones)."""
    return tuple(slice(a, -b if b else None) for _, (a, b) in zip(shape, pad_width))


def _pad_forward(x, pad_width, constant_values):
    out = np.full(tuple(d + a + b for d, (a, b) in zip(x.shape, pad_width)), constant_values, x.dtype)
    core.assign(out[pad_interior(x.shape, pad_width)], x)
    return out


PAD = register(
    "pad", forward=_pad_forward, infer=_pad_spec,
    grad=lambda ctx, g: (getitem(g, pad_interior(ctx.inputs[0].shape, ctx.attrs["pad_width"])),),
    kernels=("assign",))


def pad(x, pad_width, mode="constant", constant_values=0):
    """Pads `x` with `constant_values`; `pad_width` is an int, a (before, after) pair, or a pair per axis."""
    x = C.convert_to_tensor(x)
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, received mode={mode!r}.")
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (pw < 0).any():
        raise ValueError(f"pad: `pad_width` must be non-negative, received {pad_width!r}.")
    return apply(PAD, x, pad_width=tuple((int(a), int(b)) for a, b in pw), constant_values=constant_values)


# ---- gathers -----------------------------------------------------------------------------------


def _take_spec(x, indices, axis):
    return x.shape[:axis] + indices.shape + x.shape[axis + 1:], x.dtype


def _take_forward(x, indices, axis):
    outer, n, inner = C.split_axis(x.shape, axis)
    out = core.gather(x, indices.reshape(-1), outer, n, inner)
    return out.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1:])


def _like(x):
    """The tensor a gradient scatters into, as an extra input when its shape has unknown sizes
    (read when the graph runs); none otherwise."""
    return (x,) if None in tuple(x.shape) else ()


def _scatter_spec(g, indices, *like, axis, shape):
    return (tuple(like[0].shape) if like else shape), g.dtype


def _scatter_forward(g, indices, *like, axis, shape):
    shape = like[0].shape if like else shape
    outer, n, inner = C.split_axis(shape, axis)
    return core.scatter_add(g.reshape(outer, -1, inner), indices.reshape(-1), outer, n, inner).reshape(shape)


TAKE = register(
    "take", forward=_take_forward, infer=_take_spec,
    grad=lambda ctx, g: (apply(SCATTER_ADD, g, ctx.inputs[1], *_like(ctx.inputs[0]), axis=ctx.attrs["axis"],
                               shape=ctx.inputs[0].shape), None),
    kernels=("gather",))
SCATTER_ADD = register(
    "scatter_add", forward=_scatter_forward, infer=_scatter_spec,
    grad=lambda ctx, gg: (apply(TAKE, gg, ctx.inputs[1], axis=ctx.attrs["axis"]),) + (None,) * (len(ctx.inputs) - 1),
    kernels=("scatter_add",))


def _as_indices(op_name, indices):
    indices = C.convert_to_tensor(indices)
    if indices.dtype not in ("int32", "int64"):
        raise TypeError(f"{op_name}: `indices` must be an integer tensor, received dtype {indices.dtype}.")
    return indices


def take(x, indices, axis=None):
    """Gathers slices of `x` along `axis` (of the flattened `x` when None) at `indices`;
    negative indices count from the end, out-of-range ones raise an IndexError-like ValueError."""
    x = C.convert_to_tensor(x)
    indices = _as_indices("take", indices)
    if axis is None:
        x, axis = ravel(x), 0
    axis = C.normalize_axis("take", axis, x.ndim)
    return apply(TAKE, x, indices, axis=axis)


def _along_forward(x, indices, axis):
    out = core.gather(x, indices, *C.split_axis(x.shape, axis), True)
    return out.reshape(indices.shape)


def _along_scatter_forward(g, indices, *like, axis, shape):
    shape = like[0].shape if like else shape
    return core.scatter_add(g, indices, *C.split_axis(shape, axis), True).reshape(shape)


TAKE_ALONG_AXIS = register(
    "take_along_axis", forward=_along_forward, infer=lambda x, indices, axis: (indices.shape, x.dtype),
    grad=lambda ctx, g: (apply(SCATTER_ADD_ALONG_AXIS, g, ctx.inputs[1], *_like(ctx.inputs[0]),
                               axis=ctx.attrs["axis"], shape=ctx.inputs[0].shape), None),
    kernels=("gather",))
SCATTER_ADD_ALONG_AXIS = register(
    "scatter_add_along_axis", forward=_along_scatter_forward, infer=_scatter_spec,
    grad=lambda ctx, gg: (apply(TAKE_ALONG_AXIS, gg, ctx.inputs[1], axis=ctx.attrs["axis"]),) + (None,) * (
        len(ctx.inputs) - 1),
    kernels=("scatter_add",))


def take_along_axis(x, indices, axis=None):
    """`x` gathered along `axis` at `indices` (same rank as `x`; other axes broadcast), as numpy."""
    x = C.convert_to_tensor(x)
    indices = _as_indices("take_along_axis", indices)
    if axis is None:
        x, axis = ravel(x), 0
        indices = ravel(indices)
    axis = C.normalize_axis("take_along_axis", axis, x.ndim)
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: `indices` must have the rank of `x` ({x.ndim}), "
                         f"received shape {C.shape_str(indices.shape)}.")
    xs = list(x.shape)
    ishape = list(indices.shape)
    xs[axis] = ishape[axis] = 1
    b = C.broadcast_shapes("take_along_axis", tuple(xs), tuple(ishape))
    x = broadcast_to(x, b[:axis] + (x.shape[axis],) + b[axis + 1:])
    indices = broadcast_to(indices, b[:axis] + (indices.shape[axis],) + b[axis + 1:])
    return apply(TAKE_ALONG_AXIS, x, indices, axis=axis)
