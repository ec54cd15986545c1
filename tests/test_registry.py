import pytest

from neuralbrain.errors import ConfigError, UnknownNameError
from neuralbrain.registry import Registry


def test_register_decorator_and_lazy_string():
    reg: Registry = Registry("widget")

    @reg.register("plain", tags=("a",))
    class Plain:
        """A plain widget."""

    reg.register("lazy", "collections:OrderedDict")
    assert reg.get("plain") is Plain
    assert reg.tags("plain") == ("a",)
    assert reg.describe("plain") == "A plain widget."
    from collections import OrderedDict

    assert reg.get("lazy") is OrderedDict
    assert reg.names() == ["lazy", "plain"]


def test_unknown_name_lists_names_and_suggests():
    reg: Registry = Registry("backend")
    reg.register("rram", "collections:OrderedDict")
    reg.register("cpu", "collections:OrderedDict")
    expected = r"unknown backend 'rrm'.*\['cpu', 'rram'\].*did you mean 'rram'"
    with pytest.raises(UnknownNameError, match=expected):
        reg.get("rrm")


def test_double_registration_and_malformed_lazy_entry_fail():
    reg: Registry = Registry("env")
    reg.register("x", "collections:OrderedDict")
    with pytest.raises(ConfigError, match="registered twice"):
        reg.register("x", "collections:deque")
    with pytest.raises(ConfigError, match="expected 'package.module:Attr'"):
        reg.register("y", "collections.deque")
