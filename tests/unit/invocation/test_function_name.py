import pytest

from kappa.invocation.errors import GatewayError
from kappa.invocation.function_name import FunctionRef, parse_function_name, trigger_target


@pytest.mark.parametrize(
    ("function_name", "qualifier", "expected"),
    [
        pytest.param("echo", None, FunctionRef("default", "echo"), id="name"),
        pytest.param("team-a/echo", None, FunctionRef("team-a", "echo"), id="namespace-name"),
        pytest.param(
            "arn:aws:lambda:us-east-1:team-a:function:echo", None,
            FunctionRef("team-a", "echo"), id="arn",
        ),
        pytest.param(
            "arn:aws:lambda:eu-west-3:team-a:function:echo:$LATEST", None,
            FunctionRef("team-a", "echo"), id="arn-latest",
        ),
        pytest.param("team-a:function:echo", None, FunctionRef("team-a", "echo"), id="partial"),
        pytest.param("echo", "$LATEST", FunctionRef("default", "echo"), id="qualifier-latest"),
        pytest.param("echo:$LATEST", None, FunctionRef("default", "echo"), id="name-latest"),
        pytest.param("echo", "", FunctionRef("default", "echo"), id="empty-qualifier"),
        pytest.param("a" * 63, None, FunctionRef("default", "a" * 63), id="longest-label"),
        pytest.param("echo", "7", FunctionRef("default", "echo", "7"), id="version"),
        pytest.param("echo:live", None, FunctionRef("default", "echo", "live"), id="alias-in-name"),
        pytest.param(
            "arn:aws:lambda:us-east-1:team-a:function:echo:7", None,
            FunctionRef("team-a", "echo", "7"), id="arn-version",
        ),
        pytest.param(
            "team-a:function:echo:live", "live", FunctionRef("team-a", "echo", "live"),
            id="partial-arn-alias-and-same-qualifier",
        ),
    ],
)  # fmt: skip
def test_accepted_names(function_name: str, qualifier: str | None, expected: FunctionRef) -> None:
    assert parse_function_name(function_name, qualifier) == expected


@pytest.mark.parametrize(
    ("function_name", "qualifier", "status", "error_type"),
    [
        pytest.param("", None, 400, "InvalidParameterValueException", id="empty"),
        pytest.param("x" * 257, None, 400, "InvalidParameterValueException", id="too-long"),
        pytest.param("a" * 64, None, 400, "InvalidParameterValueException", id="label-too-long"),
        pytest.param("Echo", None, 400, "InvalidParameterValueException", id="uppercase"),
        pytest.param("my_fn", None, 400, "InvalidParameterValueException", id="underscore"),
        pytest.param("-echo", None, 400, "InvalidParameterValueException", id="leading-dash"),
        pytest.param("a/b/c", None, 400, "InvalidParameterValueException", id="two-slashes"),
        pytest.param("Team/echo", None, 400, "InvalidParameterValueException", id="bad-namespace"),
        pytest.param("arn:aws:s3:::bucket", None, 400, "InvalidParameterValueException",
                     id="other-arn"),
        pytest.param("echo:v1", "v2", 400, "InvalidParameterValueException",
                     id="qualifier-mismatch"),
        pytest.param("echo", "bad qualifier!", 400, "InvalidParameterValueException",
                     id="bad-qualifier"),
        pytest.param("echo", "x" * 129, 400, "InvalidParameterValueException",
                     id="qualifier-too-long"),
        pytest.param("echo:a:b", None, 400, "InvalidParameterValueException",
                     id="two-qualifiers"),
    ],
)  # fmt: skip
def test_refused_names(
    function_name: str, qualifier: str | None, status: int, error_type: str
) -> None:
    with pytest.raises(GatewayError) as refused:
        parse_function_name(function_name, qualifier)
    assert refused.value.status == status
    assert refused.value.error_type == error_type


def test_the_http_trigger_segment_names_a_qualifier_after_a_colon() -> None:
    assert trigger_target("echo") == ("echo", None)
    assert trigger_target("echo:live") == ("echo", "live")
    assert trigger_target("echo:3") == ("echo", "3")
