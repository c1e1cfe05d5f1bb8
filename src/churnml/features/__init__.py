"""Point-in-time trend features, one module per signal family, plus the registry."""
