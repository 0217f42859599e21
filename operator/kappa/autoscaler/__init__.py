"""Concurrency-based autoscaling: a pure decider fed by the gateways' stats, and its shell."""
