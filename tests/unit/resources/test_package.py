import pytest

from kappa.resources.package import (
    CONFIG_MAP_MAX_BYTES,
    PACKAGE_MAX_BYTES,
    PackageTooLargeError,
    Placement,
    archive_configmap,
    placement,
    url_code,
)


@pytest.mark.parametrize("store", [True, False])
def test_a_small_zip_stays_in_a_configmap(*, store: bool) -> None:
    assert placement(1, store=store) is Placement.CONFIG_MAP
    assert placement(CONFIG_MAP_MAX_BYTES, store=store) is Placement.CONFIG_MAP


def test_a_larger_zip_goes_to_the_store_up_to_lambdas_limit() -> None:
    assert placement(CONFIG_MAP_MAX_BYTES + 1, store=True) is Placement.STORE
    assert placement(PACKAGE_MAX_BYTES, store=True) is Placement.STORE
    assert PACKAGE_MAX_BYTES == 52_428_800


def test_past_lambdas_limit_is_refused_even_with_a_store() -> None:
    with pytest.raises(PackageTooLargeError, match="52,428,800"):
        placement(PACKAGE_MAX_BYTES + 1, store=True)


def test_without_a_store_a_larger_zip_is_refused_saying_what_to_do() -> None:
    with pytest.raises(PackageTooLargeError, match="no code store: host it"):
        placement(CONFIG_MAP_MAX_BYTES + 1, store=False, no_store="host it")


def test_url_code_is_a_functions_url_source() -> None:
    assert url_code("http://s/v1/packages/t/abc?sig=1", "abc") == {
        "url": {"url": "http://s/v1/packages/t/abc?sig=1", "sha256": "abc"}
    }


def test_the_configmap_keeps_refusing_what_it_cannot_hold() -> None:
    with pytest.raises(PackageTooLargeError):
        archive_configmap("f-package", "t", {}, b"\0" * (CONFIG_MAP_MAX_BYTES + 1))
