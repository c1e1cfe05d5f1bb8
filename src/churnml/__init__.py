"""churnml: spot customers about to leave early enough to keep them, and plan the return of those who left."""

__version__ = "0.1.0"

__all__ = ["__version__"]
