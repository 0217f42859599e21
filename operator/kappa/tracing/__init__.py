"""Tracing: W3C and X-Ray trace context, spans, and their export over OTLP/HTTP JSON.

Shared by the gateway and the in-pod agent, one home for one idea: a call's trace id
is one 128-bit number that both the W3C ``traceparent`` and Lambda's
``X-Amzn-Trace-Id`` name, so a handler's OpenTelemetry or X-Ray SDK continues the
trace the gateway and the agent started (docs/tracing.md).

Its place: just above :mod:`kappa.base`, under every process package; the standard
library only (no OpenTelemetry SDK), because the agent imports it on every cold start.
``context``, ``sampling``, ``span`` and ``otlp`` are pure; ``exporter`` is the one
shell (a bounded batch posted in the background, dropped and counted when the
collector is slow or down); ``tracer`` ties them together for a process.
"""
