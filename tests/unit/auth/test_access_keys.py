"""Access-key Secrets: what makes a usable key, and what each mistake says."""

import base64
from typing import Any

import pytest

from kappa.auth.access_keys import access_key, key_secret, read_keys
from kappa.auth.subject import service_account, user


def secret(name: str = "k", **data: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "kappa-system"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


GOOD = {"accessKeyId": "KAPPAKEY000000000001", "secretAccessKey": "0123456789abcdef0123"}


def test_a_key_for_a_service_account() -> None:
    key = access_key(secret(**GOOD, serviceAccount="team-a/ci"))
    assert not isinstance(key, str)
    assert key.access_key_id == "KAPPAKEY000000000001"
    assert key.subject == service_account("team-a", "ci")
    assert key.subject.user == "system:serviceaccount:team-a:ci"
    assert key.source == "kappa-system/k"


def test_a_key_for_a_user_in_groups() -> None:
    key = access_key(secret(**GOOD, user="alice", groups="devs, team-a"))
    assert not isinstance(key, str)
    assert key.subject == user("alice", ("devs", "team-a"))
    assert key.subject.groups == ("devs", "team-a", "system:authenticated")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({**GOOD, "accessKeyId": "short"}, "accessKeyId must be 16 to 128"),
        ({**GOOD, "accessKeyId": "KAPPA-KEY-0000000001"}, "accessKeyId must be 16 to 128"),
        ({**GOOD, "secretAccessKey": "tiny"}, "secretAccessKey must be 16 to 128"),
        (GOOD, "exactly one of serviceAccount"),
        ({**GOOD, "user": "a", "serviceAccount": "n/s"}, "exactly one of serviceAccount"),
        ({**GOOD, "serviceAccount": "just-a-name"}, "must be NAMESPACE/NAME"),
        ({**GOOD, "serviceAccount": "Team/ci"}, "must be NAMESPACE/NAME"),
        ({**GOOD, "user": "system:admin"}, "not system:*"),
        ({**GOOD, "user": "bob", "groups": "system:masters"}, "system:masters would bypass RBAC"),
        ({**GOOD, "user": "bob smith"}, "without spaces"),
    ],
)
def test_a_bad_secret_says_what_to_fix(data: dict[str, str], says: str) -> None:
    problem = access_key(secret(**data))
    assert isinstance(problem, str)
    assert problem.startswith("Secret kappa-system/k: ")
    assert says in problem


def test_data_that_is_not_base64_is_ignored() -> None:
    broken = secret(**GOOD, serviceAccount="a/b")
    broken["data"]["secretAccessKey"] = "%%% not base64"
    assert "secretAccessKey" in str(access_key(broken))


def test_two_secrets_with_one_key_id_disable_it() -> None:
    keys, problems = read_keys([
        secret("one", **GOOD, serviceAccount="a/x"),
        secret("two", **GOOD, serviceAccount="b/y"),
        secret("three", **{**GOOD, "accessKeyId": "KAPPAKEY000000000002"}, user="carol"),
        secret("four", accessKeyId="bad"),
    ])  # fmt: skip
    assert list(keys) == ["KAPPAKEY000000000002"]
    assert any("in both kappa-system/one and kappa-system/two" in p for p in problems)
    assert any("Secret kappa-system/four" in p for p in problems)


def test_a_new_key_secret_is_one_the_gateway_reads_back() -> None:
    manifest = key_secret("ci", "kappa-system", "KAPPAKEY000000000003", "x" * 40,
                          service_account="team-a/ci")  # fmt: skip
    assert manifest["metadata"]["labels"] == {"kappa.dev/access-key": "true"}
    key = access_key(manifest)
    assert not isinstance(key, str)
    assert key.subject == service_account("team-a", "ci")
    with pytest.raises(ValueError, match="system:masters would bypass RBAC"):
        key_secret("x", "kappa-system", "KAPPAKEY000000000004", "x" * 40, user_name="eve",
                   groups=("system:masters",))  # fmt: skip
