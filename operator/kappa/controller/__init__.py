"""The operator: kopf handlers (thin) and the pure planners they call."""
