"""Regularization layers: Dropout and its spatial variants, GaussianNoise, GaussianDropout,
ActivityRegularization."""
from layerkit.layers.regularization.activity_regularization import ActivityRegularization
from layerkit.layers.regularization.dropout import Dropout
from layerkit.layers.regularization.gaussian_dropout import GaussianDropout
from layerkit.layers.regularization.gaussian_noise import GaussianNoise
from layerkit.layers.regularization.spatial_dropout import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D

__all__ = ["ActivityRegularization", "Dropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D"]
