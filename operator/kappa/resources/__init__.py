"""Pure builders of the Kubernetes objects Kappa owns (pods, code ConfigMaps, ...).

Builders take typed specs and return manifests; they neither talk to the API
server nor read the clock, so the controller can plan without side effects
and tests can compare whole objects.
"""
