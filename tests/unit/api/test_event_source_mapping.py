from typing import Any

import pytest
from pydantic import ValidationError

from kappa.api.event_source_mapping import (
    EventSourceMapping,
    SourceKind,
    StartingPosition,
    default_batch_size,
)
from tests.unit.api.esm_cases import ACCEPTED, REFUSED, kafka, manifest, schedule
from tests.unit.api.function_cases import Refusal


def test_the_table_has_at_least_twenty_refusals() -> None:
    assert len(REFUSED) >= 20


@pytest.mark.schema
@pytest.mark.parametrize("refusal", REFUSED)
def test_model_refuses_saying_what_to_fix(refusal: Refusal) -> None:
    with pytest.raises(ValidationError) as excinfo:
        EventSourceMapping.model_validate(refusal.manifest)
    assert refusal.model_expects in str(excinfo.value)


@pytest.mark.schema
@pytest.mark.parametrize("body", ACCEPTED)
def test_model_accepts_and_round_trips(body: dict[str, Any]) -> None:
    mapping = EventSourceMapping.model_validate(body)
    dumped = mapping.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert EventSourceMapping.model_validate(dumped) == mapping


def test_schedule_payload_must_be_json() -> None:
    body = manifest(sqs=None, schedule={"cron": "* * * * *", "payload": "{not json"})
    del body["spec"]["sqs"]
    with pytest.raises(ValidationError, match=r"spec\.schedule\.payload must be JSON text"):
        EventSourceMapping.model_validate(body)


def test_defaults_are_lambdas() -> None:
    spec = EventSourceMapping.model_validate(manifest()).spec
    assert spec.kind is SourceKind.SQS
    assert spec.effective_batch_size == 10
    assert (spec.maximum_batching_window_seconds, spec.parallelization_factor) == (0, 1)
    assert (spec.maximum_retry_attempts, spec.maximum_record_age_seconds) == (-1, -1)
    assert spec.enabled
    assert not spec.reports_item_failures
    assert not spec.bisect_batch_on_function_error


@pytest.mark.parametrize(
    ("body", "kind", "batch"),
    [
        pytest.param(manifest(), SourceKind.SQS, 10, id="sqs"),
        pytest.param(kafka(), SourceKind.KAFKA, 100, id="kafka"),
        pytest.param(schedule(), SourceKind.SCHEDULE, 1, id="schedule"),
        pytest.param(manifest(batchSize=7), SourceKind.SQS, 7, id="explicit"),
    ],
)
def test_kind_block_and_batch_size(body: dict[str, Any], kind: SourceKind, batch: int) -> None:
    spec = EventSourceMapping.model_validate(body).spec
    assert spec.kind is kind
    assert spec.block is getattr(spec, "redis_streams" if kind == "redisStreams" else kind.value)
    assert spec.effective_batch_size == batch


@pytest.mark.parametrize("kind", list(SourceKind))
def test_every_kind_has_a_default_batch_size(kind: SourceKind) -> None:
    assert 1 <= default_batch_size(kind) <= 100


def test_report_batch_item_failures() -> None:
    spec = EventSourceMapping.model_validate(
        manifest(functionResponseTypes=["ReportBatchItemFailures"])
    ).spec
    assert spec.reports_item_failures


def test_starting_position_timestamp_parses() -> None:
    spec = EventSourceMapping.model_validate(
        kafka(startingPosition="AT_TIMESTAMP", startingPositionTimestamp="2026-11-27T08:00:00Z")
    ).spec
    assert spec.starting_position is StartingPosition.AT_TIMESTAMP
    assert spec.starting_position_timestamp is not None
    assert spec.starting_position_timestamp.year == 2026
