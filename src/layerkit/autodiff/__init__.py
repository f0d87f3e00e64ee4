"""Variables and eager reverse-mode differentiation."""
from layerkit.autodiff.tape import GradientTape
from layerkit.autodiff.variable import Variable

__all__ = ["GradientTape", "Variable"]
