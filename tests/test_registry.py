import pytest

from xnas.errors import RegistryError
from xnas.registry import Registry


def test_register_get_and_helpful_unknown_name():
    reg: Registry[int] = Registry("widget")
    reg.register("b")(2)
    reg.register("a")(1)
    assert reg.get("a") == 1 and reg.names() == ["a", "b"] and "b" in reg and len(reg) == 2
    with pytest.raises(RegistryError, match="unknown widget 'c'; expected one of: a, b"):
        reg.get("c")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(3)


def test_lazy_entries_import_on_first_use_and_survive_a_failing_import(tmp_path, monkeypatch):
    reg: Registry[object] = Registry("widget")
    reg.register_lazy("json-dumps", "json:dumps")
    reg.register_lazy("broken", "no_such_module_xnas:thing")
    assert reg.names() == ["broken", "json-dumps"] and "broken" in reg
    import json

    assert reg.get("json-dumps") is json.dumps
    for _ in range(2):  # the failing entry keeps its name: the real error, again
        with pytest.raises(ModuleNotFoundError):
            reg.get("broken")
    reg.unregister("broken")
    with pytest.raises(RegistryError, match="unknown widget 'broken'"):
        reg.get("broken")
