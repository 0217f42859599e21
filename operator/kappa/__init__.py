"""Kappa: AWS-Lambda-style functions on Kubernetes.

The version lives here so that the package, the build metadata (read by
setuptools from this attribute) and ``kappa version`` cannot disagree.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
