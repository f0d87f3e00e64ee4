"""Shared timing and reporting for the benchmarks (see WORKLOADS: medians over timed windows
after warm-up, 2 threads for every framework, one JSON line per figure)."""
import json
import os
import statistics
import time

# LAYERKIT_BENCH_ONLY=layerkit or =pytorch loads just that framework: W7 (memory.py) measures
# each one's peak memory in its own process, which must not count the other's libraries
ONLY = os.environ.get("LAYERKIT_BENCH_ONLY")
if ONLY != "layerkit":
    try:  # the peer first, so it starts with its own threading defaults, whatever layerkit sets
        import torch  # noqa: F401
    except ImportError:
        pass

THREADS = 2


def set_threads(n=THREADS):
    """The same thread count for layerkit, numpy's OpenBLAS and PyTorch."""
    if ONLY != "pytorch":
        import layerkit as lk

        lk.config.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
    if ONLY != "layerkit":
        try:
            import torch

            torch.set_num_threads(n)
        except ImportError:
            pass


def median_time(fn, warmup=3, repeats=15, min_window=0.05):
    """Median seconds per call of `fn`, timed in windows of at least `min_window` seconds."""
    for _ in range(warmup):
        fn()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t >= min_window or n >= 1 << 20:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t) / n)
    return statistics.median(samples)


def emit(workload, framework, metric, value, ratio_vs=None, **extra):
    line = {"workload": workload, "framework": framework, "metric": metric, "value": round(value, 4)}
    if ratio_vs is not None:
        line["ratio_vs"] = ratio_vs
    line.update(extra)
    print(json.dumps(line), flush=True)


def torch_or_none():
    if ONLY == "layerkit":
        return None
    try:
        import torch

        return torch
    except ImportError:
        return None


def adam(params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    """A hand-written Adam for layerkit's benchmarks (no optimizer module yet): returns
    `apply(grads)`, written with ops so a compiled step fuses each variable's update."""
    import numpy as np

    import layerkit as lk
    from layerkit import ops

    m = [lk.Variable(np.zeros(p.shape, "float32"), trainable=False) for p in params]
    v = [lk.Variable(np.zeros(p.shape, "float32"), trainable=False) for p in params]
    t = lk.Variable(np.zeros((), "float32"), trainable=False)

    def apply(grads):
        t.assign_add(1.0)
        scale = lr * ops.sqrt(1.0 - ops.power(beta2, t)) / (1.0 - ops.power(beta1, t))
        for p, g, mi, vi in zip(params, grads, m, v):
            mi.assign(mi * beta1 + g * (1 - beta1))
            vi.assign(vi * beta2 + ops.square(g) * (1 - beta2))
            p.assign_sub(mi * scale / (ops.sqrt(vi) + eps))
    return apply

