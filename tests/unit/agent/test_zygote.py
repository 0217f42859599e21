from pathlib import Path

from kappa.agent.zygote import top_level_modules


def test_the_task_roots_top_level_modules_are_what_import_would_find(tmp_path: Path) -> None:
    (tmp_path / "simplejson").mkdir()
    (tmp_path / "simplejson-3.19.3.dist-info").mkdir()
    (tmp_path / "app.py").write_text("")
    (tmp_path / "fast.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    (tmp_path / "README.md").write_text("")
    (tmp_path / "bootstrap").write_text("")
    assert top_level_modules(tmp_path) == {"simplejson", "app", "fast"}
    assert top_level_modules(tmp_path / "absent") == frozenset()
