import pytest

from kappa.gateway import catalog
from kappa.invocation.errors import GatewayError
from kappa.invocation.registry import FunctionSpec


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
