"""The op registry and the C++ core agree: every kernel is used by a primitive, every primitive's
kernels exist, and every primitive is complete."""
import pytest

from layerkit import ops
from layerkit.backend import core
from layerkit.ops import REGISTRY, Primitive

PRIMITIVES = sorted(REGISTRY)


def test_every_core_kernel_is_used_and_every_primitive_kernel_exists():
    provided = set(core.kernel_names())
    used = set().union(*(p.kernels for p in REGISTRY.values()))
    missing = sorted(used - provided)  # primitives calling kernels the core lacks
    unused = sorted(provided - used)  # kernels no primitive declares
    assert not missing and not unused, f"missing from the core: {missing}; unused by any primitive: {unused}"


def test_kernel_names_are_unique():
    names = core.kernel_names()
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)


@pytest.mark.parametrize("name", PRIMITIVES)
def test_primitive_is_complete(name):
    p = REGISTRY[name]
    assert isinstance(p, Primitive) and p.name == name
    assert callable(p.forward) and callable(p.infer)
    assert p.grad is None or callable(p.grad)
    assert isinstance(p.kernels, tuple) and all(isinstance(k, str) for k in p.kernels)
    for k in p.kernels:
        assert callable(getattr(core, k, None)), f"{name}: kernel {k!r} is not in the core"


def test_register_rejects_a_duplicate_name():
    with pytest.raises(ValueError, match="add"):
        ops.register("add", forward=lambda x: x, infer=lambda x: (x.shape, x.dtype))
    assert REGISTRY["add"].forward is not None and REGISTRY["add"].kernels == ("add",)
