"""What the gateway and the asynchronous workers share: the invocation layer.

Layer 3 (see ``[tool.importlinter]`` in pyproject.toml and docs/architecture.md):
below ``kappa.gateway``, ``kappa.asyncq`` and the other process packages of layer 2
(``controller`` reads ``kube_view``'s pod and quota parsing), which it imports
none of; beside ``kappa.autoscaler``; above ``kappa.quota``, ``kappa.resources``
(``kube_view`` reads a pod by what ``pods`` writes: the agent's port, its slots
variable), ``kappa.api`` and ``kappa.base``, the only Kappa packages it imports.
Pure but for ``jetstream``: no sockets, no clocks, no Kubernetes client.

- ``registry``: the function registry (what each Function is, its endpoints) and
  ``RegistryIndex``, the one index type of both feeds: the ``--registry`` file
  (``StaticRegistry``) and the watches (``kube_view.KubeView``);
- ``kube_view``: the registry's view of Kubernetes objects (Functions, pods, quotas);
- ``routing``: slot tables and the pure slot choice;
- ``function_name``: FunctionName parsing (name, namespace/name, ARN);
- ``errors``: invocation errors in Lambda's shapes (``GatewayError``);
- ``call``: one invocation as sent to an agent, and its reply;
- ``jetstream``: making JetStream streams and buckets (the async queue's and durable
  functions'), their copies never lowered.
"""
