"""An EventSourceMapping as the poller's parts see it: the source's and the runner's configs.

Pure: the mapping (and the poller's settings) in, configs out.
"""

from collections.abc import Mapping
from typing import Any

from kappa.api.event_source_mapping import EventSourceMapping
from kappa.api.filters import parse_all
from kappa.eventsources.batching import BatchPolicy
from kappa.eventsources.outcome import RetryPolicy
from kappa.eventsources.runner import RunnerConfig
from kappa.eventsources.settings import PollerSettings
from kappa.eventsources.source import SourceConfig, StateStore


def parse_mapping(document: Mapping[str, Any]) -> EventSourceMapping:
    """The mapping of a manifest or of ``KAPPA_ESM_MAPPING`` (status ignored)."""
    return EventSourceMapping.model_validate({k: v for k, v in document.items() if k != "status"})


def source_config(
    mapping: EventSourceMapping, settings: PollerSettings, state: StateStore | None
) -> SourceConfig:
    """What the source module opens: the spec's block, names, credentials, position."""
    spec = mapping.spec
    namespace = mapping.metadata.namespace or "default"
    timestamp = spec.starting_position_timestamp
    return SourceConfig(
        block=spec.block,
        namespace=namespace,
        mapping_name=mapping.metadata.name,
        consumer_name=settings.pod_name,
        group=f"kappa-{namespace}-{mapping.metadata.name}",
        batch_size=spec.effective_batch_size,
        region=settings.region,
        credentials=dict(settings.credentials),
        starting_position=None if spec.starting_position is None else str(spec.starting_position),
        starting_position_timestamp_ms=(
            None if timestamp is None else int(timestamp.timestamp() * 1000)
        ),
        state=state,
    )


def runner_config(mapping: EventSourceMapping) -> RunnerConfig:
    """The runner's view of the spec (raises FilterPatternError for a bad pattern)."""
    spec = mapping.spec
    on_failure = None if spec.destination_config is None else spec.destination_config.on_failure
    patterns = (
        ()
        if spec.filter_criteria is None
        else parse_all([f.pattern for f in spec.filter_criteria.filters])
    )
    return RunnerConfig(
        namespace=mapping.metadata.namespace or "default",
        function_name=spec.function_ref.name,
        batch=BatchPolicy(
            batch_size=spec.effective_batch_size,
            window_seconds=float(spec.maximum_batching_window_seconds),
        ),
        retry=RetryPolicy(
            maximum_retry_attempts=spec.maximum_retry_attempts,
            maximum_record_age_seconds=spec.maximum_record_age_seconds,
        ),
        reports_item_failures=spec.reports_item_failures,
        bisect=spec.bisect_batch_on_function_error,
        parallelization=spec.parallelization_factor,
        patterns=patterns,
        failure_function=(
            None if on_failure is None or on_failure.function is None else on_failure.function.name
        ),
    )
