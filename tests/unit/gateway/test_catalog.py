import pytest

from kappa.api.function import Durable
from kappa.gateway import catalog
from kappa.invocation.errors import GatewayError
from kappa.invocation.registry import FunctionSpec
from tests.unit.gateway.lambda_model import operation, parsed, problems


def spec(namespace: str, name: str, **kwargs: object) -> FunctionSpec:
    return FunctionSpec(
        namespace, name, f"arn:aws:lambda:us-east-1:{namespace}:function:{name}", **kwargs
    )  # type: ignore[arg-type]


SPECS = [spec("a", "x"), spec("a", "y"), spec("b", "x"), spec("default", "z")]


@pytest.mark.parametrize(
    ("marker", "max_items", "names", "next_marker"),
    [
        pytest.param(None, 50, ["a/x", "a/y", "b/x", "z"], None, id="all"),
        pytest.param(None, 2, ["a/x", "a/y"], "a/y", id="first-page"),
        pytest.param("a/y", 2, ["b/x", "z"], None, id="last-page"),
        pytest.param("a/xx", 1, ["a/y"], "a/y", id="marker-of-a-deleted-function"),
        pytest.param("zz/z", 5, [], None, id="past-the-end"),
    ],
)
def test_paging(
    marker: str | None, max_items: int, names: list[str], next_marker: str | None
) -> None:
    page = catalog.list_page(SPECS, marker, max_items)
    assert [catalog.display_name(s) for s in page.functions] == names
    assert page.next_marker == next_marker


@pytest.mark.parametrize(
    "raw", [pytest.param("0", id="zero"), pytest.param("x", id="word"),
            pytest.param("10001", id="too-many"), pytest.param("-1", id="negative")],
)  # fmt: skip
def test_bad_max_items(raw: str) -> None:
    with pytest.raises(GatewayError) as refused:
        catalog.parse_max_items(raw)
    assert refused.value.status == 400


def test_bad_marker() -> None:
    with pytest.raises(GatewayError):
        catalog.list_page(SPECS, "no-slash", 5)


def test_configuration_and_get_function() -> None:
    body = catalog.get_function(spec("default", "z", reserved=4, timeout_seconds=0.5))
    assert body["Configuration"]["FunctionName"] == "z"
    assert body["Configuration"]["Timeout"] == 1
    assert body["Configuration"]["PackageType"] == "Zip"
    assert body["Concurrency"] == {"ReservedConcurrentExecutions": 4}
    image = catalog.configuration(spec("a", "x", runtime="image"))
    assert image["PackageType"] == "Image"
    assert "Runtime" not in image


def test_account_settings() -> None:
    body = catalog.account_settings(limit=1000, reserved_total=150, function_count=7)
    assert body["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert body["AccountLimit"]["UnreservedConcurrentExecutions"] == 850
    assert body["AccountUsage"]["FunctionCount"] == 7


DURABLE = Durable(execution_timeout_seconds=86400, retention_period_in_days=30)


def test_a_durable_functions_configuration_carries_its_durable_config() -> None:
    config = catalog.configuration(spec("team", "order", durable=DURABLE))
    assert config["DurableConfig"] == {"RetentionPeriodInDays": 30, "ExecutionTimeout": 86400}
    assert "KMSKeyArn" not in config["DurableConfig"]
    assert "DurableConfig" not in catalog.configuration(spec("team", "plain"))


@pytest.mark.parametrize(
    "durable",
    [
        pytest.param(None, id="plain"),
        pytest.param(DURABLE, id="durable"),
        pytest.param(Durable(execution_timeout_seconds=1, retention_period_in_days=1), id="low"),
        pytest.param(
            Durable(execution_timeout_seconds=31_622_400, retention_period_in_days=90), id="high"
        ),
    ],
)
def test_answers_fit_lambdas_model_and_boto3_reads_durable_config(durable: Durable | None) -> None:
    one = spec("team", "order", durable=durable, code_sha256="ab", last_modified="2024-05-01")
    config = catalog.configuration(one)
    answers = {
        "GetFunctionConfiguration": config,
        "GetFunction": catalog.get_function(one),
        "ListFunctions": catalog.list_functions(catalog.list_page([one], None, 50)),
    }
    for name, body in answers.items():
        assert problems(body, operation(name).output_shape) == [], name
    read = parsed("GetFunctionConfiguration", config)
    if durable is None:
        assert "DurableConfig" not in read
    else:
        assert read["DurableConfig"] == {
            "RetentionPeriodInDays": durable.retention_period_in_days,
            "ExecutionTimeout": durable.execution_timeout_seconds,
        }
    [listed] = parsed("ListFunctions", answers["ListFunctions"])["Functions"]
    assert listed.get("DurableConfig") == read.get("DurableConfig")


def test_the_model_check_finds_what_departs_from_lambdas_shapes() -> None:
    shape = operation("GetFunctionConfiguration").output_shape
    found = problems(
        {"MemorySize": "128", "PackageType": "Tar", "DurableConfig": {"ExecutionTimeout": 0,
                                                                     "Kms": "x"}},
        shape,
    )  # fmt: skip
    assert found == [
        ".MemorySize: '128' is not a whole number",
        ".PackageType: 'Tar' is not one of ['Zip', 'Image']",
        ".DurableConfig.ExecutionTimeout: 0 is outside 1..31622400",
        ".DurableConfig.Kms: not a member of DurableConfig",
    ]
