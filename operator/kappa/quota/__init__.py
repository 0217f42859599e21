"""Concurrency quotas, as pure math: namespace and cluster limits, Function claims, headroom.

- ``limits``: a namespace's effective limits (the tightest of its ConcurrencyQuotas)
  and the cluster's (operator settings: the limit and the unreserved minimum);
- ``claims``: what a Function sets aside (reserved, else provisioned), whether a new
  one fits (the admission webhook) and which existing ones do not (held at Ready=False);
- ``headroom``: how many slots a Function may still add under its namespace's quota
  (the autoscaler's cap, which is what makes the quota hold across gateway replicas).

Pure: no I/O, no kopf, no kubernetes client, no clock.
"""
