import hashlib
import io
import stat
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from kappa.agent import code_archive
from kappa.agent.code_archive import (
    CodeError,
    UnsafeMemberError,
    file_mode,
    is_symlink,
    member_path,
    symlink_stays_inside,
    unpack,
)
from tests.unit.agent.archives import make_zip


@pytest.mark.parametrize(
    ("name", "path"),
    [
        pytest.param("app.py", PurePosixPath("app.py"), id="file"),
        pytest.param("pkg/mod.py", PurePosixPath("pkg/mod.py"), id="nested"),
        pytest.param("pkg/", PurePosixPath("pkg"), id="directory"),
        pytest.param("./app.py", PurePosixPath("app.py"), id="dot"),
        pytest.param("a..b/c", PurePosixPath("a..b/c"), id="dots-inside-a-name"),
    ],
)
def test_member_path_accepts(name: str, path: PurePosixPath) -> None:
    assert member_path(name) == path


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("../evil.py", id="parent"),
        pytest.param("pkg/../../evil.py", id="parent-inside"),
        pytest.param("..", id="just-parent"),
        pytest.param("", id="empty"),
        pytest.param("..\\evil.py", id="backslash"),
        pytest.param("C:/evil.py", id="drive"),
        pytest.param("a\x00b", id="nul"),
    ],
)
def test_member_path_refuses(name: str) -> None:
    with pytest.raises(UnsafeMemberError):
        member_path(name)


@pytest.mark.parametrize(
    ("link", "target", "inside"),
    [
        pytest.param("bin/tool", "../lib/tool.py", True, id="sibling-dir"),
        pytest.param("tool", "lib/tool.py", True, id="down"),
        pytest.param("a/b/c", "../../x", True, id="up-to-root"),
        pytest.param("tool", "../outside", False, id="up-out"),
        pytest.param("a/b", "../../x", False, id="up-out-nested"),
        pytest.param("tool", "/etc/passwd", False, id="absolute"),
        pytest.param("tool", "", False, id="empty"),
        pytest.param("a/tool", "./../x", True, id="dot-segments"),
    ],
)
def test_symlink_stays_inside(link: str, target: str, *, inside: bool) -> None:
    assert symlink_stays_inside(PurePosixPath(link), target) is inside


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        pytest.param(0o100755, 0o555, id="executable"),
        pytest.param(0o100644, 0o444, id="regular"),
        pytest.param(0o104777, 0o555, id="setuid-and-world-writable-dropped"),
        pytest.param(0, 0o444, id="no-unix-mode"),
        pytest.param(0o100700, 0o555, id="owner-exec"),
    ],
)
def test_file_mode(mode: int, expected: int) -> None:
    assert file_mode(mode << 16) == expected


def test_is_symlink() -> None:
    assert is_symlink((stat.S_IFLNK | 0o777) << 16)
    assert not is_symlink((stat.S_IFREG | 0o644) << 16)


def test_unpack_writes_read_only_files_and_directories(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "code.zip",
        [
            ("bootstrap", b"#!/bin/sh\n", stat.S_IFREG | 0o755),
            ("pkg/app.py", b"x = 1\n", stat.S_IFREG | 0o644),
            ("bin/link", b"../bootstrap", stat.S_IFLNK | 0o777),
        ],
    )
    root = tmp_path / "task"
    assert unpack(archive, root) == 2
    assert (root / "bootstrap").stat().st_mode & 0o777 == 0o555
    assert (root / "pkg/app.py").read_bytes() == b"x = 1\n"
    assert (root / "pkg/app.py").stat().st_mode & 0o777 == 0o444
    # No write bit anywhere below the mount point (tests may run as root, which writes
    # regardless: the modes are what the function's non-root user meets).
    assert (root / "pkg").stat().st_mode & 0o777 == 0o555
    assert (root / "bin").stat().st_mode & 0o777 == 0o555
    assert (root / "bin/link").readlink() == Path("../bootstrap")


@pytest.mark.parametrize(
    "members",
    [
        pytest.param([("../evil", b"x", stat.S_IFREG | 0o644)], id="traversal"),
        pytest.param([("/abs", b"x", stat.S_IFREG | 0o644)], id="absolute"),
        pytest.param([("out", b"../../etc", stat.S_IFLNK | 0o777)], id="symlink-out"),
        pytest.param(
            [
                ("dir", b".", stat.S_IFLNK | 0o777),
                ("dir", b"overwrite through the link", stat.S_IFREG | 0o644),
            ],
            id="write-through-symlink",
        ),
        pytest.param(
            [
                ("d/l", b"..", stat.S_IFLNK | 0o777),
                ("d/m", b"l/..", stat.S_IFLNK | 0o777),
                ("d/m/l/escaped/", b"", stat.S_IFDIR | 0o755),
                ("d/l/x/file", b"x", stat.S_IFREG | 0o644),
            ],
            id="symlink-chain-directories",
        ),
        pytest.param(
            [("a.py", b"one", stat.S_IFREG | 0o644), ("a.py", b"two", stat.S_IFREG | 0o644)],
            id="duplicate-member",
        ),
    ],
)
def test_unpack_refuses_what_would_escape(
    tmp_path: Path, members: list[tuple[str, bytes, int]]
) -> None:
    archive = make_zip(tmp_path / "code.zip", members)
    root = tmp_path / "deep" / "task"
    root.mkdir(parents=True)
    with pytest.raises(CodeError) as refused:
        unpack(archive, root)
    assert refused.value.error.error_type == "Kappa.CodeArchiveInvalid"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["code.zip", "deep"]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["task"]


def test_writing_through_a_symlink_says_so(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "code.zip",
        [("dir", b".", stat.S_IFLNK | 0o777), ("dir", b"through", stat.S_IFREG | 0o644)],
    )
    with pytest.raises(CodeError) as refused:
        unpack(archive, tmp_path / "task")
    assert refused.value.error.error_type == "Kappa.CodeArchiveInvalid"
    assert refused.value.error.message == (
        "'dir': a symlink of that name is unpacked before it; writing through a symlink is refused"
    )


def test_an_encrypted_member_is_a_code_error(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "code.zip", [("app.py", b"x = 1", stat.S_IFREG | 0o644)])
    data = bytearray(archive.read_bytes())
    # Set the "encrypted" flag (bit 0) in the local header and the central directory entry.
    data[6] |= 0x01
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 0x01
    archive.write_bytes(bytes(data))
    with pytest.raises(CodeError) as refused:
        unpack(archive, tmp_path / "task")
    assert refused.value.error.error_type == "Kappa.CodeArchiveInvalid"
    assert "encrypted" in refused.value.error.message


def test_unpack_of_a_non_zip_is_a_code_error(tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    archive.write_bytes(b"not a zip")
    with pytest.raises(CodeError) as excinfo:
        unpack(archive, tmp_path / "task")
    assert excinfo.value.error.error_type == "Kappa.CodeArchiveInvalid"


def test_make_zip_round_trips() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.py", b"")
    assert zipfile.ZipFile(buffer).namelist() == ["a.py"]


def test_only_the_configmap_archive_file_urls_are_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "code.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))
    # The pod mounts archives at FILE_URLS' paths, which a test cannot write to: the
    # module's set is pointed at a file here instead (urllib reads it for real).
    monkeypatch.setattr(code_archive, "FILE_URLS", frozenset({archive.as_uri()}))
    digest = code_archive.fetch(archive.as_uri(), tmp_path / "copy.zip")
    assert digest == hashlib.sha256(archive.read_bytes()).digest()
    assert (tmp_path / "copy.zip").read_bytes() == archive.read_bytes()
    other = tmp_path / "other.zip"
    other.write_bytes(archive.read_bytes())
    with pytest.raises(CodeError, match="unsupported code URL"):
        code_archive.fetch(other.as_uri(), tmp_path / "copy2.zip")


def _layer(tmp_path: Path, name: str, files: dict[str, bytes]) -> tuple[str, bytes]:
    path = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for member, content in files.items():
            archive.writestr(member, content)
    return path.as_uri(), hashlib.sha256(path.read_bytes()).digest()


def test_layers_unpack_in_order_and_a_later_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _layer(tmp_path, "a", {"python/shared.py": b"V = 1\n", "python/a.py": b""})
    second = _layer(tmp_path, "b", {"python/shared.py": b"V = 2\n", "python/b.py": b""})
    monkeypatch.setattr(code_archive, "FILE_URLS", frozenset({first[0], second[0]}))
    opt = tmp_path / "opt"
    assert code_archive.install_layers([first, second], opt) == 4
    assert (opt / "python/shared.py").read_bytes() == b"V = 2\n"
    assert sorted(p.name for p in (opt / "python").iterdir()) == ["a.py", "b.py", "shared.py"]
    assert stat.S_IMODE((opt / "python").stat().st_mode) & 0o222 == 0  # sealed once all are in


def test_a_layer_with_another_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = _layer(tmp_path, "a", {"python/x.py": b""})
    monkeypatch.setattr(code_archive, "FILE_URLS", frozenset({url}))
    with pytest.raises(CodeError, match="layer 0 sha256 is"):
        code_archive.install_layers([(url, bytes(32))], tmp_path / "opt")


def _bomb(path: Path, members: int, size: int) -> Path:
    """A zip of ``members`` files of ``size`` zero bytes each: tiny zipped, large unzipped."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(members):
            archive.writestr(f"zeros-{index}", b"\0" * size)
    return path


def test_lambdas_limits_hold_the_agent() -> None:
    assert code_archive.MAX_UNZIPPED_BYTES == 262_144_000  # Lambda's 250 MB unzipped
    # A URL archive (as Lambda's from S3) may be larger than a direct upload's 50 MB,
    # never than what it unpacks to.
    assert code_archive.MAX_ARCHIVE_BYTES == code_archive.MAX_UNZIPPED_BYTES


@pytest.mark.parametrize(
    ("members", "size"),
    [pytest.param(1, 3 * 1024 * 1024, id="one-member"), pytest.param(6, 600_000, id="summed")],
)
def test_a_zip_bomb_stops_at_the_unzipped_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, members: int, size: int
) -> None:
    monkeypatch.setattr(code_archive, "MAX_UNZIPPED_BYTES", 2 * 1024 * 1024)
    archive = _bomb(tmp_path / "code.zip", members, size)
    assert archive.stat().st_size < 64 * 1024  # it is a bomb: small zipped
    with pytest.raises(CodeError) as refused:
        unpack(archive, tmp_path / "task")
    assert refused.value.error.error_type == "Kappa.CodeTooLarge"
    written = sum(p.stat().st_size for p in (tmp_path / "task").rglob("*") if p.is_file())
    assert written <= 2 * 1024 * 1024


def test_a_member_whose_header_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    archive = _bomb(tmp_path / "code.zip", 1, 1024 * 1024)
    data = bytearray(archive.read_bytes())
    # Declare 16 bytes in the central directory's uncompressed size: the zip says small.
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (16).to_bytes(4, "little")
    local_size = 22
    data[local_size : local_size + 4] = (16).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(CodeError) as refused:
        unpack(archive, tmp_path / "task")
    assert refused.value.error.error_type == "Kappa.CodeArchiveInvalid"


def test_an_endless_download_stops_at_the_archive_limit() -> None:
    class Endless:
        def read(self, size: int, /) -> bytes:
            return b"x" * size

    written: list[int] = []
    with pytest.raises(CodeError) as refused:
        code_archive._copy_capped(  # noqa: SLF001 - the cap every download goes through
            Endless(), lambda chunk: written.append(len(chunk)), total=0, cap=3 * 1024 * 1024,
            too_large="too large",
        )  # fmt: skip
    assert refused.value.error.error_type == "Kappa.CodeTooLarge"
    assert sum(written) <= 3 * 1024 * 1024


def test_an_archive_of_too_many_entries_is_refused_before_any_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert code_archive.MAX_ENTRIES == 100_000  # as a code image's copy
    monkeypatch.setattr(code_archive, "MAX_ENTRIES", 10)
    members = [(f"empty-{i}", b"", stat.S_IFREG | 0o644) for i in range(11)]
    archive = make_zip(tmp_path / "code.zip", members)
    with pytest.raises(CodeError) as refused:
        unpack(archive, tmp_path / "task")
    assert refused.value.error.error_type == "Kappa.CodeTooLarge"
    assert not (tmp_path / "task").exists() or not any((tmp_path / "task").iterdir())
    ten = make_zip(tmp_path / "ten.zip", members[:10])
    assert unpack(ten, tmp_path / "ten") == 10
