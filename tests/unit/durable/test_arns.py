"""Durable execution ARNs: built from their parts, parsed back, hostile ones refused."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.base.arn import parse_function_arn
from kappa.durable.arns import ExecutionArn, execution_arn, parse_execution_arn
from kappa.durable.fields import FieldError

UUID = "3f2b1c4e-9a7d-4e21-8c55-0d6f1e2a3b4c"
_NAME = st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True)
_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
ARN = f"arn:aws:lambda:us-east-1:team:function:orders:$LATEST/durable-execution/order-7/{UUID}"


@pytest.mark.parametrize(
    ("arn", "parts"),
    [
        pytest.param(ARN, ExecutionArn("us-east-1", "team", "orders", "$LATEST", "order-7", UUID),
                     id="latest"),
        pytest.param("arn:aws:lambda:eu-west-3:default:function:f:42/durable-execution/N_a-m3/i",
                     ExecutionArn("eu-west-3", "default", "f", "42", "N_a-m3", "i"), id="published"),
        pytest.param(f"arn:aws:lambda:r:n:function:f:1/durable-execution/{'n' * 64}/{'i' * 64}",
                     ExecutionArn("r", "n", "f", "1", "n" * 64, "i" * 64), id="longest-name-and-id"),
        pytest.param("arn:aws:lambda:r:n:function:f:1/durable-execution/durable-execution/x",
                     ExecutionArn("r", "n", "f", "1", "durable-execution", "x"), id="name-like-the-marker"),
    ],
)  # fmt: skip
def test_an_arn_parses_into_its_parts_and_back(arn: str, parts: ExecutionArn) -> None:
    assert parse_execution_arn(arn) == parts
    assert str(parts) == arn


def test_the_function_part_is_the_pinned_versions_function_arn() -> None:
    arn = execution_arn(
        region="us-east-1", namespace="team", function="orders", version="3", name="n",
        execution_id="i",
    )  # fmt: skip
    assert arn.function_arn == "arn:aws:lambda:us-east-1:team:function:orders:3"
    function = parse_function_arn(arn.function_arn)
    assert function is not None
    assert (function.namespace, function.name, function.qualifier) == ("team", "orders", "3")


@pytest.mark.parametrize(
    ("arn", "problem"),
    [
        pytest.param("", "must be 1 to 1024 characters long (it is 0).", id="empty"),
        pytest.param(ARN[: -len(UUID)] + "i" * 1024, "must be 1 to 1024 characters long", id="too-long"),
        pytest.param("arn:aws:lambda:us-east-1:team:function:orders:$LATEST", "must be arn:aws:lambda:",
                     id="a-function-arn"),
        pytest.param(ARN.replace(":$LATEST", ""), "must be arn:aws:lambda:", id="unqualified"),
        pytest.param(ARN.replace("arn:aws:", "arn:aws-cn:"), "must be arn:aws:lambda:", id="other-partition"),
        pytest.param(ARN.replace("lambda", "states"), "must be arn:aws:lambda:", id="other-service"),
        pytest.param(ARN + "/extra", "must be arn:aws:lambda:", id="extra-segment"),
        pytest.param(ARN.replace(f"/{UUID}", ""), "must be arn:aws:lambda:", id="no-id"),
        pytest.param(ARN.replace("function:orders", "function:or:ders"), "must be arn:aws:lambda:",
                     id="colon-in-function"),
        pytest.param(ARN.replace("us-east-1", "us_east"), "has an invalid region 'us_east'.", id="region"),
        pytest.param(ARN.replace(":team:", ":Team:"), "has an invalid namespace", id="namespace-capital"),
        pytest.param(ARN.replace(":team:", ":a..b:"), "has an invalid namespace", id="namespace-dots"),
        pytest.param(ARN.replace("orders", "-orders"), "has an invalid function", id="function-leading-dash"),
        pytest.param(ARN.replace("orders", "o" * 64), "has an invalid function", id="function-too-long"),
        pytest.param(ARN.replace("$LATEST", "live"), "must name $LATEST or a published version's number, not 'live'.",
                     id="alias"),
        pytest.param(ARN.replace("$LATEST", "$LATEST.PUBLISHED"), "must name $LATEST", id="latest-published"),
        pytest.param(ARN.replace("$LATEST", "007"), "must name $LATEST", id="leading-zero"),
        pytest.param(ARN.replace("order-7", "order 7"), "has an invalid execution name: it must match",
                     id="name-space"),
        pytest.param(ARN.replace("order-7", "..%2F"), "has an invalid execution name", id="name-encoded-slash"),
        pytest.param(ARN.replace("order-7", "n" * 65), "has an invalid execution name: it must be 1 to 64",
                     id="name-too-long"),
        pytest.param(ARN.replace(UUID, "ö"), "has an invalid execution id: it must match", id="id-not-ascii"),
        pytest.param(ARN.replace(UUID, "a\x00b"), "has an invalid execution id", id="id-nul"),
    ],
)  # fmt: skip
def test_a_hostile_arn_is_refused_saying_why(arn: str, problem: str) -> None:
    with pytest.raises(FieldError) as refused:
        parse_execution_arn(arn)
    assert refused.value.field == "DurableExecutionArn"
    assert problem in refused.value.problem


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        pytest.param({"namespace": ""}, "has an invalid namespace", id="namespace-empty"),
        pytest.param({"function": "a/b"}, "has an invalid function", id="function-slash"),
        pytest.param({"version": ""}, "must name $LATEST", id="version-empty"),
        pytest.param({"name": ""}, "has an invalid execution name", id="name-empty"),
        pytest.param({"execution_id": "a/b"}, "has an invalid execution id", id="id-slash"),
    ],
)  # fmt: skip
def test_building_refuses_parts_that_would_not_parse(changes: dict[str, str], problem: str) -> None:
    parts = {"region": "us-east-1", "namespace": "team", "function": "orders", "version": "$LATEST",
             "name": "order-7", "execution_id": UUID}  # fmt: skip
    with pytest.raises(FieldError, match="DurableExecutionArn") as refused:
        execution_arn(**(parts | changes))
    assert problem in refused.value.problem


@given(
    region=st.from_regex(r"[a-z]{2}-[a-z]+-[0-9]", fullmatch=True),
    namespace=_LABEL,
    function=_LABEL,
    version=st.one_of(st.just("$LATEST"), st.integers(1, 9_999_999_999).map(str)),
    name=_NAME,
    execution_id=_NAME,
)
def test_any_valid_arn_parses_back_into_its_parts(
    region: str, namespace: str, function: str, version: str, name: str, execution_id: str
) -> None:
    arn = execution_arn(
        region=region, namespace=namespace, function=function, version=version, name=name,
        execution_id=execution_id,
    )  # fmt: skip
    assert parse_execution_arn(str(arn)) == arn
