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
