"""Matrix products: matmul (batched, broadcasting) through the BLAS kernel, and dot, tensordot,
einsum built on it."""
import math

import numpy as np

from layerkit.backend import core, is_float_dtype
from layerkit.ops import core as C
from layerkit.ops import reduction as R
from layerkit.ops import layout as S
from layerkit.ops.primitive import apply, register


def _mm_dims(shape, transposed):
    rows, cols = shape[-2], shape[-1]
    return (cols, rows) if transposed else (rows, cols)


def _matmul_spec(a, b, transpose_a, transpose_b):
    m, k1 = _mm_dims(a.shape, transpose_a)
    k2, n = _mm_dims(b.shape, transpose_b)
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"matmul: the contracted dimensions differ: x1 has shape {C.shape_str(a.shape)} and x2 "
                         f"has shape {C.shape_str(b.shape)} ({k1} vs {k2}).")
    return C.broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2]) + (m, n), a.dtype


def _matmul_forward(a, b, transpose_a, transpose_b):
    if a.ndim == 2 and b.ndim == 2:  # the common case: straight to the kernel
        return core.matmul(a, b, transpose_a, transpose_b)
    ba, bb = a.shape[:-2], b.shape[:-2]
    if not bb and not transpose_a:
        # (..., M, K) @ (K, N): every batch row through one tall GEMM
        out = core.matmul(a.reshape(math.prod(a.shape[:-1]), a.shape[-1]), b, False, transpose_b)
        return out.reshape(ba + (a.shape[-2], out.shape[-1]))
    batch = np.broadcast_shapes(ba, bb)

    def as_3d(x, xb):
        if math.prod(xb) == 1:
            return x.reshape(x.shape[-2:])  # one matrix, shared by every batch
        if xb != batch:
            x = core.broadcast_to(x, batch + x.shape[-2:])
        return x.reshape((math.prod(batch),) + x.shape[-2:])

    out = core.matmul(as_3d(a, ba), as_3d(b, bb), transpose_a, transpose_b)
    return out.reshape(batch + out.shape[-2:])


def _matmul_grad(ctx, g):
    # C = op_a(A) @ op_b(B); each input gradient is again one matmul with transpose flags, summed
    # over the batch axes its input was broadcast along
    a, b = ctx.inputs
    ta, tb = ctx.attrs["transpose_a"], ctx.attrs["transpose_b"]
    da = db = None
    if ctx.needs(0):
        da = S.sum_to(matmul_raw(b, g, tb, True) if ta else matmul_raw(g, b, False, not tb), a)
    if ctx.needs(1):
        if b.ndim == 2 and a.ndim > 2 and not ta:
            # a shared weight: one tall GEMM over every batch row instead of a batch then a sum
            a2 = S.reshape(a, (-1, a.shape[-1]))
            g2 = S.reshape(g, (-1, g.shape[-1]))
            db = matmul_raw(g2, a2, True, False) if tb else matmul_raw(a2, g2, True, False)
        else:
            db = S.sum_to(matmul_raw(g, a, True, ta) if tb else matmul_raw(a, g, not ta, False), b)
    return da, db


MATMUL = register("matmul", forward=_matmul_forward, infer=_matmul_spec, grad=_matmul_grad,
                  kernels=("matmul",))


def matmul_raw(a, b, transpose_a=False, transpose_b=False):
    """The matmul primitive: operands of rank >= 2 with broadcasting batch axes, and either
    operand's last two axes optionally transposed inside the GEMM (no copy)."""
    return apply(MATMUL, a, b, transpose_a=bool(transpose_a), transpose_b=bool(transpose_b))


def matmul(x1, x2):
    """Matrix product with NumPy semantics: 1-D operands are promoted to matrices, leading batch
    dimensions broadcast."""
    x1, x2 = C.binary_operands(x1, x2)
    if not is_float_dtype(x1.dtype):
        raise TypeError(f"matmul: expected float32 or float64 operands, received {x1.dtype}; cast them first "
                        "(ops.cast(x, 'float32')).")
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError("matmul: operands must be at least 1-D; use multiply for scalars.")
    k1, k2 = x1.shape[-1], x2.shape[0 if x2.ndim == 1 else -2]
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"matmul: the last axis of x1 (shape {C.shape_str(x1.shape)}) must match the "
                         f"{'only' if x2.ndim == 1 else 'second-to-last'} axis of x2 (shape {C.shape_str(x2.shape)}).")
    v1, v2 = x1.ndim == 1, x2.ndim == 1
    if v1:
        x1 = S.reshape(x1, (1, x1.shape[0]))
    if v2:
        x2 = S.reshape(x2, (x2.shape[0], 1))
    if x1.ndim > 2 or x2.ndim > 2:
        C.broadcast_shapes("matmul", x1.shape[:-2], x2.shape[:-2])  # the error names the op and both shapes
    out = matmul_raw(x1, x2)
    if v1:
        out = S.squeeze(out, -2)
    if v2:
        out = S.squeeze(out, -1)
    return out


def dot(x1, x2):
    """`numpy.dot`: matmul for 1-D/2-D, the last axis of x1 with the second-to-last of x2 otherwise."""
    x1, x2 = C.binary_operands(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        from layerkit.ops.elementwise import multiply
        return multiply(x1, x2)
    if x2.ndim <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([x1.ndim - 1], [x2.ndim - 2]))


def tensordot(x1, x2, axes=2):
    """Sum of products over the given axes, as `numpy.tensordot`."""
    x1, x2 = C.binary_operands(x1, x2)
    if isinstance(axes, int):
        a1, a2 = list(range(x1.ndim - axes, x1.ndim)), list(range(axes))
    else:
        a1, a2 = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                  [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    a1 = [C.normalize_axis("tensordot", a, x1.ndim, "axes") for a in a1]
    a2 = [C.normalize_axis("tensordot", a, x2.ndim, "axes") for a in a2]
    for i, j in zip(a1, a2):
        if x1.shape[i] != x2.shape[j]:
            raise ValueError(f"tensordot: axis {i} of x1 (size {x1.shape[i]}) does not match axis {j} of x2 "
                             f"(size {x2.shape[j]}).")
    f1 = [i for i in range(x1.ndim) if i not in a1]
    f2 = [i for i in range(x2.ndim) if i not in a2]
    k = math.prod([x1.shape[i] for i in a1])
    m = S.reshape(S.transpose(x1, f1 + a1), (-1, k))
    n = S.reshape(S.transpose(x2, a2 + f2), (k, -1))
    return S.reshape(matmul(m, n), [x1.shape[i] for i in f1] + [x2.shape[i] for i in f2])


def _parse_einsum(subscripts, n):
    subscripts = subscripts.replace(" ", "")
    if "..." in subscripts:
        raise ValueError("einsum: ellipsis ('...') is not supported; name the axes explicitly.")
    lhs, _, rhs = subscripts.partition("->")
    terms = lhs.split(",")
    if len(terms) != n:
        raise ValueError(f"einsum: the subscripts name {len(terms)} operands, {n} were given.")
    letters = "".join(terms)
    if not _:
        rhs = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    elif any(c not in letters or rhs.count(c) > 1 for c in rhs):
        raise ValueError(f"einsum: output subscripts {rhs!r} must be distinct letters of the inputs ({lhs!r}).")
    return terms, rhs


def _einsum_reduce(x, term, keep):
    """Sums away the letters of `term` not in `keep`; returns (tensor, remaining term)."""
    if len(set(term)) != len(term):
        raise ValueError(f"einsum: repeated subscripts within one operand ({term!r}, a diagonal) are not supported.")
    drop = [i for i, c in enumerate(term) if c not in keep]
    if drop:
        x = R.sum(x, axis=drop)
        term = "".join(c for c in term if c in keep)
    return x, term


def einsum(subscripts, *operands):
    """Einstein summation over one or two operands (more are contracted left to right).

    Every pattern lowers to transposes, reshapes, sums and one batched matmul, so it is as fast
    as the matmul it becomes and differentiable like any composite.
    """
    ops_ = [C.convert_to_tensor(x) for x in operands]
    terms, out = _parse_einsum(subscripts, len(ops_))
    for t, x in zip(terms, ops_):
        if len(t) != x.ndim:
            raise ValueError(f"einsum: subscripts {t!r} name {len(t)} axes but the operand has shape "
                             f"{C.shape_str(x.shape)}.")
    x, tx = ops_[0], terms[0]
    for i in range(1, len(ops_)):
        y, ty = ops_[i], terms[i]
        rest = out + "".join(terms[i + 1:])  # letters still needed after this contraction
        x, tx = _einsum_reduce(x, tx, set(ty) | set(rest))
        y, ty = _einsum_reduce(y, ty, set(tx) | set(rest))
        x, tx = _contract(x, tx, y, ty, set(rest))
    x, tx = _einsum_reduce(x, tx, set(out))
    return S.transpose(x, [tx.index(c) for c in out]) if tx != out else x


def _contract(x, tx, y, ty, needed):
    sizes = dict(zip(tx, x.shape))
    sizes.update(zip(ty, y.shape))
    batch = [c for c in tx if c in ty and c in needed]
    contr = [c for c in tx if c in ty and c not in needed]
    fx = [c for c in tx if c not in ty]
    fy = [c for c in ty if c not in tx]

    def arrange(t, term, order, shape):
        t = S.transpose(t, [term.index(c) for c in order])
        return S.reshape(t, shape)

    def prod(letters):  # None (unknown) when a symbolic operand has an unknown size among them
        dims = [sizes[c] for c in letters]
        return None if None in dims else math.prod(dims)

    nb, m, k, n = prod(batch), prod(fx), prod(contr), prod(fy)
    a = arrange(x, tx, batch + fx + contr, (nb, m, k))
    b = arrange(y, ty, batch + contr + fy, (nb, k, n))
    r = matmul(a, b)
    term = "".join(batch + fx + fy)
    return S.reshape(r, [sizes[c] for c in term]), term

