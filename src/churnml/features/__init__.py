"""Point-in-time trend features, one module per signal family, plus the registry.

``build_features(dataset, spine, cfg)`` -> one row per (client, snapshot) of the spine, columns
``client_id``, ``snapshot`` and the Float64 features of :mod:`churnml.features.registry`.
"""

from churnml.features import registry
from churnml.features.build import build_features, feature_columns
from churnml.features.registry import FEATURES, FeatureSpec, feature_spec, feature_specs, sentence

__all__ = [
    "FEATURES",
    "FeatureSpec",
    "build_features",
    "feature_columns",
    "feature_spec",
    "feature_specs",
    "registry",
    "sentence",
]
