"""Regenerates src/layerkit/datasets/digits.npz from scikit-learn's copy of the UCI digits.

    pip install scikit-learn && python tools/make_digits_npz.py
"""
import pathlib

import numpy as np
from sklearn.datasets import load_digits

d = load_digits()
out = pathlib.Path(__file__).resolve().parents[1] / "src" / "layerkit" / "datasets" / "digits.npz"
np.savez_compressed(out, images=d.images.astype(np.uint8), labels=d.target.astype(np.uint8))
print(f"wrote {out} ({out.stat().st_size} bytes)")
