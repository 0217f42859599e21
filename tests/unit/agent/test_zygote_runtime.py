import ast
import sys
import types
from pathlib import Path

import pytest

from kappa.agent import zygote_runtime
from kappa.agent.zygote_runtime import forget_package, preload


def test_the_runtime_side_imports_the_standard_library_only() -> None:
    # It runs under the runtime's interpreter, where kappa and its dependencies are not.
    tree = ast.parse(Path(zygote_runtime.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            assert node.module is not None
            imported.add(node.module.partition(".")[0])
    assert imported
    assert imported <= sys.stdlib_module_names


def test_forget_package_drops_the_package_and_its_modules_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("fakeric", "fakeric.client", "fakeric.sub.deep", "fakericx", "fakejson"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    forget_package("fakeric")
    assert "fakeric" not in sys.modules
    assert "fakeric.client" not in sys.modules
    assert "fakeric.sub.deep" not in sys.modules
    assert "fakericx" in sys.modules  # another package whose name starts alike
    assert "fakejson" in sys.modules  # a dependency stays imported


def test_preload_imports_each_listed_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    monkeypatch.delitem(sys.modules, "wave", raising=False)
    preload("colorsys, ,wave,")
    assert "colorsys" in sys.modules
    assert "wave" in sys.modules
