"""Test-wide settings: the Keras reference (when installed) runs on JAX; threads are fixed."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")


import pytest  # noqa: E402


@pytest.fixture(params=[4, 3, 0], ids=["avx512", "avx2", "baseline"])
def isa_level(request):
    """Runs a test with the SIMD kernels capped at one level (4: AVX-512, 3: AVX2 + FMA, 0: the
    baseline loops); skipped where the CPU lacks the level."""
    from layerkit.backend import core

    previous = core._set_isa_level(request.param)
    try:
        if core._isa_level() != request.param:
            pytest.skip(f"this CPU has no SIMD level {request.param}")
        yield request.param
    finally:
        core._set_isa_level(previous)

