"""W1: float32 matmul, square n = 256, 512, 1024, 2048: GFLOP/s, ratio to numpy in the same run."""
import numpy as np

# _harness loads the peer first, so that it starts with its own threading defaults
from _harness import emit, median_time, set_threads
import layerkit as lk

set_threads()
rng = np.random.default_rng(0)
for n in (256, 512, 1024, 2048):
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    ta, tb = lk.convert_to_tensor(a), lk.convert_to_tensor(b)
    flops = 2.0 * n**3
    t_np = median_time(lambda: a @ b, repeats=7)
    t_lk = median_time(lambda: lk.ops.matmul(ta, tb), repeats=7)
    emit(f"W1 n={n}", "numpy", "GFLOP/s", flops / t_np / 1e9)
    emit(f"W1 n={n}", "layerkit", "GFLOP/s", flops / t_lk / 1e9,
         ratio_vs={"numpy": round(t_np / t_lk, 3)})
