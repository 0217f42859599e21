from kappa.resources.code_configmap import (
    code_configmap_name,
    code_sha256,
    config_map_key,
    make_code_configmap,
)


def test_name_follows_content_not_order() -> None:
    one = code_configmap_name("fn", {"a.py": "1", "b.py": "2"})
    assert one == code_configmap_name("fn", {"b.py": "2", "a.py": "1"})
    assert one != code_configmap_name("fn", {"a.py": "1", "b.py": "3"})
    assert one.startswith("fn-code-")


def test_configmap_is_immutable_owned_and_flattens_paths() -> None:
    files = {"app.py": "print(1)", "lib/x.py": ""}
    cm = make_code_configmap(function="fn", namespace="ns", uid="u", files=files)
    assert cm["immutable"] is True
    assert cm["data"] == {"app.py": "print(1)", "lib_sx.py": ""}
    assert cm["metadata"]["ownerReferences"][0]["uid"] == "u"
    assert cm["metadata"]["annotations"]["kappa.dev/code-sha256"] == code_sha256(files)
    assert cm["metadata"]["labels"]["kappa.dev/function"] == "fn"


def test_keys_of_different_paths_never_collide() -> None:
    paths = ["a/b", "a_b", "a__b", "a_sb", "a/_b", "a_/b"]
    assert len({config_map_key(p) for p in paths}) == len(paths)
