"""W4: eager overhead per call, µs: add on (8,), matmul (64, 64), and a tape forward+backward of
relu(x*w+b).sum() on (8,); PyTorch eager and numpy measured in the same run."""
import numpy as np

# _harness loads the peer first, so that it starts with its own threading defaults
from _harness import emit, median_time, set_threads, torch_or_none
import layerkit as lk

set_threads()
ops = lk.ops
torch = torch_or_none()
rng = np.random.default_rng(0)
x8, w8, b8 = (rng.standard_normal(8, dtype=np.float32) for _ in range(3))
m64a, m64b = (rng.standard_normal((64, 64), dtype=np.float32) for _ in range(2))

lx, lb = lk.convert_to_tensor(x8), lk.convert_to_tensor(b8)
lw = lk.Variable(w8)
la, lbm = lk.convert_to_tensor(m64a), lk.convert_to_tensor(m64b)


def lk_fb():
    with lk.GradientTape() as tape:
        y = ops.sum(ops.relu(lx * lw + lb))
    return tape.gradient(y, lw)


cases = {
    "add (8,)": (lambda: lx + lb, lambda: x8 + b8),
    "matmul (64,64)": (lambda: ops.matmul(la, lbm), lambda: m64a @ m64b),
    "tape fwd+bwd relu(x*w+b).sum() (8,)": (lk_fb, None),
}
if torch is not None:
    tx, tb = torch.from_numpy(x8), torch.from_numpy(b8)
    tw = torch.from_numpy(w8.copy()).requires_grad_()
    ta, tbm = torch.from_numpy(m64a), torch.from_numpy(m64b)

    def torch_fb():
        tw.grad = None
        y = torch.relu(tx * tw + tb).sum()
        y.backward()
        return tw.grad

    peers = {"add (8,)": lambda: tx + tb, "matmul (64,64)": lambda: ta @ tbm,
             "tape fwd+bwd relu(x*w+b).sum() (8,)": torch_fb}

for name, (lk_fn, np_fn) in cases.items():
    t_lk = median_time(lk_fn) * 1e6
    ratios = {}
    if np_fn is not None:
        t_np = median_time(np_fn) * 1e6
        emit(f"W4 {name}", "numpy", "us/call", t_np)
        ratios["numpy"] = round(t_np / t_lk, 3)
    if torch is not None:
        t_t = median_time(peers[name]) * 1e6
        emit(f"W4 {name}", "pytorch", "us/call", t_t)
        ratios["pytorch"] = round(t_t / t_lk, 3)
    emit(f"W4 {name}", "layerkit", "us/call", t_lk, ratio_vs=ratios)
print("# ratio_vs = peer time / layerkit time: above 1 means layerkit is faster", flush=True)
