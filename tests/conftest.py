"""Test-wide settings: the Keras reference (when installed) runs on JAX; threads are fixed."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
