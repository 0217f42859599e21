from kappa.asyncq.metrics import DEPTH, DLQ_DEPTH, OLDEST_AGE, AsyncMetrics
from kappa.gateway.metrics import GatewayMetrics

A = ("team-a", "resize")
B = ("team-b", "report")


def value(metrics: GatewayMetrics, name: str, labels: dict[str, str]) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_per_function_gauges_fold_functions_past_the_cap() -> None:
    metrics = GatewayMetrics(max_functions=1)
    metrics.function(A)
    queue = AsyncMetrics(metrics.registry, metrics.function)
    other = ("team-b", "late")
    queue.set_queues(
        {
            DEPTH: {A: 4.0, B: 2.0, other: 3.0},
            OLDEST_AGE: {A: 10.0, B: 5.0, other: 7.0},
        }
    )
    mine = {"namespace": "team-a", "function": "resize"}
    others = {"namespace": "team-b", "function": "_other"}
    assert value(metrics, DEPTH, mine) == 4
    assert value(metrics, DEPTH, others) == 5  # amounts add up
    assert value(metrics, OLDEST_AGE, others) == 7  # ages take the oldest
    assert value(metrics, DLQ_DEPTH, mine) is None  # nothing dead-lettered: no series
    queue.set_queues({})
    assert value(metrics, DEPTH, mine) is None  # drained: the series goes
