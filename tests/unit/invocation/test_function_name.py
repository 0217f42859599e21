import pytest

from kappa.invocation.errors import GatewayError
from kappa.invocation.function_name import FunctionRef, parse_function_name


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
        pytest.param("echo", "v1", 404, "ResourceNotFoundException", id="version"),
        pytest.param("echo:prod", None, 404, "ResourceNotFoundException", id="alias-in-name"),
        pytest.param("arn:aws:lambda:us-east-1:default:function:echo:7", None, 404,
                     "ResourceNotFoundException", id="arn-version"),
    ],
)  # fmt: skip
def test_refused_names(
    function_name: str, qualifier: str | None, status: int, error_type: str
) -> None:
    with pytest.raises(GatewayError) as refused:
        parse_function_name(function_name, qualifier)
    assert refused.value.status == status
    assert refused.value.error_type == error_type


def test_unsupported_qualifier_says_why() -> None:
    with pytest.raises(GatewayError) as refused:
        parse_function_name("echo", "v1")
    assert "versions and aliases are not supported yet" in refused.value.message
