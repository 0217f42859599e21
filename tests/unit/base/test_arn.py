import pytest

from kappa.base.arn import FunctionArn, function_arn, parse_function_arn


def test_function_arn_puts_the_namespace_in_the_account_field() -> None:
    assert (
        function_arn("eu-west-1", "team-a", "fn") == "arn:aws:lambda:eu-west-1:team-a:function:fn"
    )
    assert (
        function_arn("us-east-1", "a", "f", "prod") == "arn:aws:lambda:us-east-1:a:function:f:prod"
    )


@pytest.mark.parametrize(
    ("arn", "parsed"),
    [
        pytest.param(
            "arn:aws:lambda:us-east-1:ns:function:f",
            FunctionArn("us-east-1", "ns", "f"),
            id="plain",
        ),
        pytest.param(
            "arn:aws:lambda:us-east-1:ns:function:f:3",
            FunctionArn("us-east-1", "ns", "f", "3"),
            id="qualified",
        ),
        pytest.param("arn:aws:lambda:us-east-1:ns:layer:f", None, id="not-a-function"),
        pytest.param("arn:aws:sqs:us-east-1:ns:function:f", None, id="other-service"),
        pytest.param("arn:aws:lambda:us-east-1::function:f", None, id="empty-namespace"),
        pytest.param("arn:aws:lambda:us-east-1:ns:function:f:", None, id="empty-qualifier"),
        pytest.param("arn:aws:lambda:us-east-1:ns:function:f:1:2", None, id="too-many-parts"),
    ],
)
def test_parse_function_arn(arn: str, parsed: FunctionArn | None) -> None:
    assert parse_function_arn(arn) == parsed


def test_parse_inverts_function_arn() -> None:
    arn = function_arn("ap-south-1", "ns", "name", "live")
    assert parse_function_arn(arn) == FunctionArn("ap-south-1", "ns", "name", "live")
