"""conv2d forward + backward (input and filter gradients): input (64, 32, 32, 32), kernel
3x3x32x64, padding "same", float32; PyTorch eager measured in the same run (NCHW, its layout)."""
import numpy as np

# _harness loads the peer first, so that it starts with its own threading defaults
from _harness import emit, median_time, set_threads, torch_or_none
import layerkit as lk

set_threads()
ops = lk.ops
rng = np.random.default_rng(0)
x_np = rng.standard_normal((64, 32, 32, 32), dtype=np.float32)
w_np = rng.standard_normal((3, 3, 32, 64), dtype=np.float32) * 0.1
x, w = lk.convert_to_tensor(x_np), lk.Variable(w_np)
g_np = rng.standard_normal((64, 32, 32, 64), dtype=np.float32)
g = lk.convert_to_tensor(g_np)


def lk_forward():
    return ops.conv(x, w, padding="same")


def lk_step():
    with lk.GradientTape() as tape:
        tape.watch(x)  # the input gradient is part of the workload
        y = ops.conv(x, w, padding="same")
    return tape.gradient(y, [x, w], output_gradients=g)


t_fwd = median_time(lk_forward, repeats=9)
t_step = median_time(lk_step, repeats=9)
torch = torch_or_none()
ratios_f, ratios_s = {}, {}
if torch is not None:
    tx = torch.from_numpy(x_np.transpose(0, 3, 1, 2).copy()).requires_grad_()
    tw = torch.from_numpy(w_np.transpose(3, 2, 0, 1).copy()).requires_grad_()
    tg = torch.from_numpy(g_np.transpose(0, 3, 1, 2).copy())
    conv = torch.nn.functional.conv2d

    def t_forward():
        with torch.no_grad():
            return conv(tx, tw, padding=1)

    def t_step_fn():
        tx.grad = tw.grad = None
        conv(tx, tw, padding=1).backward(tg)

    tf = median_time(t_forward, repeats=9)
    ts = median_time(t_step_fn, repeats=9)
    emit("conv2d forward (64,32,32,32) 3x3x32x64 same", "pytorch", "ms", tf * 1e3)
    emit("conv2d forward+backward (64,32,32,32) 3x3x32x64 same", "pytorch", "ms", ts * 1e3)
    ratios_f["pytorch"], ratios_s["pytorch"] = round(tf / t_fwd, 3), round(ts / t_step, 3)
emit("conv2d forward (64,32,32,32) 3x3x32x64 same", "layerkit", "ms", t_fwd * 1e3, ratio_vs=ratios_f)
emit("conv2d forward+backward (64,32,32,32) 3x3x32x64 same", "layerkit", "ms", t_step * 1e3, ratio_vs=ratios_s)
print("# ratio_vs = peer time / layerkit time: above 1 means layerkit is faster", flush=True)
