"""Shared timing and reporting for the benchmarks (see WORKLOADS: medians over timed windows
after warm-up, 2 threads for every framework, one JSON line per figure)."""
import json
import os
import statistics
import time

try:  # the peer first, so it starts with its own threading defaults, whatever layerkit sets
    import torch  # noqa: F401
except ImportError:
    pass

THREADS = 2


def set_threads(n=THREADS):
    """The same thread count for layerkit, numpy's OpenBLAS and PyTorch."""
    import layerkit as lk

    lk.config.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
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
    try:
        import torch

        return torch
    except ImportError:
        return None
