"""Event source mappings: pollers that feed Functions from queues, streams and schedules.

Place in the layers (``[tool.importlinter]`` in pyproject.toml): above
``invocation``, ``autoscaler``, ``k8s``, ``resources``, ``quota``, ``settings``,
``api`` and ``base``, which it may import; beside ``controller``, ``gateway``,
``asyncq`` and ``agent``, none of which it imports (nor they it). It reaches the
gateway over HTTP only (``invoker``); the operator starts its pollers as
Deployments (``kappa.resources.poller_deployment``) and reads what they report.

``source`` is the contract every source implements (read it first). Pure
modules (no I/O, no clock): ``batching``, ``outcome`` (what a function's answer
means for each record), ``failure_record``, ``dead_letter``, ``filter_payload``,
``stream_event``, ``kafka_offsets``, the per-source shapes (``sqs_event``,
``schedule_event``, ``*_shape``), ``mapping_config`` (a mapping's configs) and
``source_status`` (the status report); filter patterns and cron are
``kappa.api.filters`` and ``kappa.api.cron``. The shell: ``runner`` (drives a
source and the invoker, on a ``clock``), ``invoker`` (HTTP to the gateway's
Invoke API), the per-source modules (``sqs``, ``schedule``, ``kafka``,
``rabbitmq``, ``nats``, ``redis_streams``) with what they share (``opening``,
``keepalive``), ``registry`` (kind → module), ``poller`` (opens the source, runs
the runner, reports through a ``reporter``, keeps state in ``kube_status`` or
``file_state``), ``metrics`` and ``metrics_app``, and ``poller_main`` (the
``kappa poller`` process).
"""
