"""W5: inference with an MLP (784->256->256->10, relu): predict 10,000 samples in batches of
1000 (samples/s), and the latency of one sample (µs); PyTorch eager (inference_mode) in the same
run. layerkit runs the model through lk.function: three fused linear kernels per call."""
import numpy as np

# _harness loads the peer first, so that it starts with its own threading defaults
from _harness import emit, median_time, set_threads, torch_or_none
import layerkit as lk

set_threads()
torch = torch_or_none()
H = 256
rng = np.random.default_rng(0)
data = rng.standard_normal((10_000, 784), dtype=np.float32)
one = data[:1]

model = lk.Sequential([lk.layers.Input(shape=(784,)), lk.layers.Dense(H, activation="relu"),
                       lk.layers.Dense(H, activation="relu"), lk.layers.Dense(10)])
forward = lk.function(lambda x: model(x))


def lk_predict():
    return [forward(data[i:i + 1000]) for i in range(0, len(data), 1000)]


def lk_eager_one():
    return model(one)


t_batch = median_time(lk_predict, repeats=7)
t_one = median_time(lambda: forward(one), repeats=15)
t_eager_one = median_time(lk_eager_one, repeats=15)
rb, r1 = {}, {}
if torch is not None:
    tm = torch.nn.Sequential(torch.nn.Linear(784, H), torch.nn.ReLU(), torch.nn.Linear(H, H), torch.nn.ReLU(),
                             torch.nn.Linear(H, 10)).eval()
    tdata, tone = torch.from_numpy(data), torch.from_numpy(one)

    def t_predict():
        with torch.inference_mode():
            return [tm(tdata[i:i + 1000]) for i in range(0, len(tdata), 1000)]

    def t_one_fn():
        with torch.inference_mode():
            return tm(tone)
    tb, t1 = median_time(t_predict, repeats=7), median_time(t_one_fn, repeats=15)
    emit("W5 predict 10000 samples, batches of 1000", "pytorch-eager", "samples/s", len(data) / tb)
    emit("W5 batch-1 latency", "pytorch-eager", "us", t1 * 1e6)
    rb["pytorch-eager"], r1["pytorch-eager"] = round(tb / t_batch, 3), round(t_one / t1, 3)
emit("W5 predict 10000 samples, batches of 1000", "layerkit-function", "samples/s", len(data) / t_batch,
     ratio_vs=rb)
emit("W5 batch-1 latency", "layerkit-function", "us", t_one * 1e6, ratio_vs=r1)
emit("W5 batch-1 latency", "layerkit-eager", "us", t_eager_one * 1e6)
print("# samples/s ratio: peer time / layerkit time (above 1: layerkit faster); latency ratio: layerkit time / "
      "peer time (the target is <= 0.25)", flush=True)
