import pytest

from kappa.codestore.capability import (
    BadPackageNameError,
    package_key,
    package_url,
    signature,
    signature_valid,
)

SHA = "a" * 64
OTHER_SHA = "b" * 64
KEY = b"k" * 32


def test_a_signed_url_names_the_package_and_carries_its_capability() -> None:
    package = package_key("team-a", SHA)
    url = package_url("http://10.0.0.7:8080/", KEY, package)
    assert url == f"http://10.0.0.7:8080/v1/packages/team-a/{SHA}?sig={signature(KEY, package)}"
    assert signature_valid(KEY, package, url.rpartition("sig=")[2])


def test_the_signature_binds_namespace_sha_and_key() -> None:
    package = package_key("team-a", SHA)
    given = signature(KEY, package)
    assert not signature_valid(KEY, package_key("team-b", SHA), given)
    assert not signature_valid(KEY, package_key("team-a", OTHER_SHA), given)
    assert not signature_valid(b"x" * 32, package, given)


@pytest.mark.parametrize(
    "given",
    [
        None,
        "",
        "0" * 64,
        "zz" * 32,
        "A" * 64,
        "a" * 63,
        "a" * 65,
    ],
)
def test_a_tampered_or_malformed_signature_is_refused(given: str | None) -> None:
    package = package_key("team-a", SHA)
    assert not signature_valid(KEY, package, given)


def test_a_signature_with_one_digit_changed_is_refused() -> None:
    package = package_key("team-a", SHA)
    good = signature(KEY, package)
    flipped = ("1" if good[0] != "1" else "2") + good[1:]
    assert not signature_valid(KEY, package, flipped)


@pytest.mark.parametrize(
    ("namespace", "sha"),
    [
        ("..", SHA),
        ("team-a/../b", SHA),
        ("Team-A", SHA),
        ("", SHA),
        ("-a", SHA),
        ("a" * 64, SHA),
        ("a\x00", SHA),
        ("team-a", "../" + SHA[3:]),
        ("team-a", SHA.upper()),
        ("team-a", SHA[:-1]),
        ("team-a", SHA + "0"),
        ("team-a", ""),
    ],
)
def test_names_that_could_leave_the_volume_are_refused(namespace: str, sha: str) -> None:
    with pytest.raises(BadPackageNameError):
        package_key(namespace, sha)
