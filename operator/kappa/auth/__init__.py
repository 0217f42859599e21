"""Who is calling, and may they: authentication and authorisation of the gateway's callers.

Its place in the layers: above ``kappa.invocation`` (whose Lambda error shapes it raises)
and ``kappa.base``; below the gateway and the async workers, which ask it. It imports
no gateway, asyncq, controller, eventsources or agent module.

Pure modules (inputs and ``now`` in, values out): ``subject`` (who), ``access`` (what,
as a Kubernetes resource attribute), ``sigv4`` (AWS Signature Version 4, verified),
``access_keys`` (an access-key Secret read), ``ttl_cache`` (bounded, time-limited
memory). The one shell is ``kube_review``: TokenReview and SubjectAccessReview against
the API server, and the access-key Secrets it lists. ``guard`` puts them together.
"""
