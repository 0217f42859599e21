"""Access keys for SigV4 callers: Secrets in Kappa's own namespace, each naming a subject.

::

    apiVersion: v1
    kind: Secret
    metadata:
      name: team-a-ci
      namespace: kappa-system            # the gateway's namespace, nowhere else
      labels: {kappa.dev/access-key: "true"}
    stringData:
      accessKeyId: KAPPAEXAMPLE0000001   # 16-128 letters and digits
      secretAccessKey: ...               # 16-128 characters
      serviceAccount: team-a/ci          # the key acts as this ServiceAccount, or
      # user: alice                      # as this user,
      # groups: devs,team-a              # in these groups

Only Secrets in the gateway's namespace count: whoever may write Secrets there may
already run the gateway as anyone, so a key names any subject without giving its
author more than they had. A tenant asks the platform team for a key (``kappa
access-key create``), as an IAM user asks the account's admin.

Pure: a Secret's JSON in, an :class:`AccessKey` or the problem with it out.
"""

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kappa.auth.subject import Subject, service_account, user

LABEL: Final = "kappa.dev/access-key"
SELECTOR: Final = f"{LABEL}=true"
_KEY_ID: Final = re.compile(r"[A-Za-z0-9]{16,128}")
_SECRET: Final = re.compile(r"[\x21-\x7e]{16,128}")
_NAME: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_SUBJECT_NAME: Final = re.compile(r"[^\s,]{1,253}")
_MAX_GROUPS: Final = 32


@dataclass(frozen=True, slots=True)
class AccessKey:
    """An access key id, its secret, and the subject it acts as."""

    access_key_id: str
    secret_access_key: str
    subject: Subject
    source: str  # the Secret, ``namespace/name``, for logs


def read_keys(secrets: Iterable[Mapping[str, Any]]) -> tuple[dict[str, AccessKey], list[str]]:
    """The usable keys by id, and one problem line per Secret that is not one."""
    keys: dict[str, AccessKey] = {}
    clashes: set[str] = set()
    problems: list[str] = []
    for secret in secrets:
        key = access_key(secret)
        if isinstance(key, str):
            problems.append(key)
            continue
        if key.access_key_id in keys:
            problems.append(
                f"access key {key.access_key_id} is in both {keys[key.access_key_id].source} and "
                f"{key.source}: neither is used until one is removed"
            )
            clashes.add(key.access_key_id)
        keys[key.access_key_id] = key
    return {k: v for k, v in keys.items() if k not in clashes}, problems


def access_key(secret: Mapping[str, Any]) -> AccessKey | str:
    """The key a Secret holds, or a line saying what to fix in it."""
    metadata = secret.get("metadata") or {}
    source = f"{metadata.get('namespace', '?')}/{metadata.get('name', '?')}"
    data = _decoded(secret.get("data") or {})
    key_id, secret_key = data.get("accessKeyId", ""), data.get("secretAccessKey", "")
    if not _KEY_ID.fullmatch(key_id):
        return f"Secret {source}: accessKeyId must be 16 to 128 letters and digits"
    if not _SECRET.fullmatch(secret_key):
        return f"Secret {source}: secretAccessKey must be 16 to 128 printable characters"
    subject = _subject(data)
    if isinstance(subject, str):
        return f"Secret {source}: {subject}"
    return AccessKey(key_id, secret_key, subject, source)


def _subject(data: Mapping[str, str]) -> Subject | str:
    account, name = data.get("serviceAccount"), data.get("user")
    if (account is None) == (name is None):
        return "give exactly one of serviceAccount (NAMESPACE/NAME) and user"
    if account is not None:
        namespace, _, sa = account.partition("/")
        if not (_NAME.fullmatch(namespace) and _NAME.fullmatch(sa)):
            return f"serviceAccount {account!r} must be NAMESPACE/NAME"
        return service_account(namespace, sa)
    assert name is not None  # noqa: S101 - one of the two, checked above
    return _user(name, data)


def _user(name: str, data: Mapping[str, str]) -> Subject | str:
    groups = tuple(g.strip() for g in data.get("groups", "").split(",") if g.strip())
    if not _SUBJECT_NAME.fullmatch(name) or name.startswith("system:"):
        return f"user {name!r} must be a name without spaces or commas, not system:*"
    if len(groups) > _MAX_GROUPS or not all(_SUBJECT_NAME.fullmatch(g) for g in groups):
        return f"groups must be at most {_MAX_GROUPS} comma-separated names"
    if any(g.startswith("system:") for g in groups):
        return "groups must not be system:* groups (system:masters would bypass RBAC)"
    return user(name, groups)


def _decoded(data: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for field, value in data.items():
        if not isinstance(value, str):
            continue
        try:
            out[str(field)] = base64.b64decode(value, validate=True).decode().strip()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return out


def key_secret(  # noqa: PLR0913 - a key is these parts
    name: str,
    namespace: str,
    access_key_id: str,
    secret_access_key: str,
    *,
    service_account: str | None = None,
    user_name: str | None = None,
    groups: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The Secret of a new access key (``kappa access-key create``); ValueError if unusable."""
    data = {"accessKeyId": access_key_id, "secretAccessKey": secret_access_key}
    if service_account is not None:
        data["serviceAccount"] = service_account
    if user_name is not None:
        data["user"] = user_name
    if groups:
        data["groups"] = ",".join(groups)
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": {LABEL: "true"}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    checked = access_key(manifest)
    if isinstance(checked, AccessKey):
        return manifest
    raise ValueError(checked)
