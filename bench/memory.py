"""W7: peak resident memory of the W2 step with H=1024 over 200 steps, each framework in its own
process (a fresh interpreter per measurement, which loads only that framework), in MiB; ratio to
PyTorch. layerkit's eager step (the same step without lk.function) is measured too: the compiled
step's planned arena should keep its peak below eager's."""
import json
import os
import subprocess
import sys
import textwrap

# each child builds one framework's W2 H=1024 step from mlp_train.py and runs it 200 times
CHILD = """
    import sys, resource
    sys.argv = ["mlp_train.py", "1024"]
    src = open("mlp_train.py").read().split("for h in sizes:")[0]
    exec(src)
    step = {make}
    for _ in range(200):
        step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
STEPS = {"layerkit-function": "layerkit_step(1024, True)", "layerkit-eager": "layerkit_step(1024, False)",
         "pytorch-eager": "torch_step(1024)"}

results = {}
for name, make in STEPS.items():
    if name == "pytorch-eager":
        try:
            import torch  # noqa: F401
        except ImportError:
            continue
    only = "pytorch" if name == "pytorch-eager" else "layerkit"  # no process loads the other framework
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD).format(make=make)], capture_output=True,
                         text=True, cwd=sys.path[0] or ".", env=dict(os.environ, LAYERKIT_BENCH_ONLY=only))
    if out.returncode:
        print(out.stderr, file=sys.stderr)
        continue
    results[name] = float(out.stdout.strip().splitlines()[-1])
for name, mib in results.items():
    line = {"workload": "W7 peak RSS, W2 H=1024, 200 steps", "framework": name, "metric": "MiB", "value": round(mib, 1)}
    ratios = {peer: round(mib / results[peer], 3) for peer in ("pytorch-eager", "layerkit-eager")
              if name == "layerkit-function" and peer in results}
    if ratios:
        line["ratio_vs"] = ratios
    print(json.dumps(line), flush=True)
print("# ratio: layerkit-function MiB / the peer's MiB (the target is <= 1)", flush=True)
