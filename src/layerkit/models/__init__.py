"""`layerkit.models`: Model (subclassing), Functional (`Model(inputs, outputs)`) and Sequential."""
from layerkit.models.model import Model
from layerkit.models.functional import Functional
from layerkit.models.sequential import Sequential

__all__ = ["Model", "Functional", "Sequential"]
