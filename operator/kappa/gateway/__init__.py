"""The gateway: Kappa's data plane in front of the function pods' agents.

It serves the Lambda Invoke API (``/2015-03-31/functions/...``), the HTTP
trigger (``/fn/{namespace}/{name}/...``) and a few read-only Lambda APIs.
Pure modules (no I/O, no clock): ``function_name``, ``errors``, ``events``,
``routing``, ``admission``, ``waiters``, ``catalog``. The shell: ``registry``
(what the gateway knows of Functions and pods), ``dispatch`` (admission,
routing, the wait queue and the call to the agent), ``app`` (HTTP surface and
process), ``metrics`` and ``settings``.
"""
