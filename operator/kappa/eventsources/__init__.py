"""Event source mappings: pollers that feed Functions from queues, streams and schedules.

``source`` is the contract every source implements (read it first). Pure
modules (no I/O, no clock): ``filters`` (Lambda's filter patterns),
``batching``, ``outcome`` (what a function's answer means for each record),
``cron`` (next fire times), ``failure_record`` and the per-source ``shape``
functions. The shell: ``runner`` (drives a source and the invoker),
``invoker`` (HTTP to the gateway's Invoke API), the per-source modules
(``sqs``, ``schedule``, ``kafka``...), ``registry`` (kind → module) and
``poller`` (the ``kappa poller`` process).
"""
