"""Every option enum of the package compares and prints as its value, as other clients' strings do."""

from __future__ import annotations

import enum
import importlib
import pkgutil

import pytest

import dynkube


def public_enums() -> list[type[enum.Enum]]:
    """Every public Enum class defined in a dynkube module."""
    found: dict[str, type[enum.Enum]] = {}
    for info in pkgutil.walk_packages(dynkube.__path__, "dynkube."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, enum.Enum) and not name.startswith("_")
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    return list(found.values())


def test_the_option_enums_are_found() -> None:
    names = {cls.__name__ for cls in public_enums()}
    assert {"EventType", "PatchType", "FieldValidation", "PropagationPolicy", "InteractiveMode"} <= names


@pytest.mark.parametrize("cls", public_enums(), ids=lambda cls: cls.__name__)
def test_members_are_their_values(cls: type[enum.Enum]) -> None:
    for member in cls:
        assert isinstance(member, (str, int))  # int: the channel numbers of exec streams (IntEnum)
        assert member == member.value and member.value == member
        assert (str(member), f"{member}", f"{member:>0}") == (str(member.value),) * 3
        assert cls(member.value) is member


def test_event_types_compare_with_the_strings_of_other_clients(capsys: pytest.CaptureFixture[str]) -> None:
    assert dynkube.EventType.ADDED == "ADDED"
    assert dynkube.EventType.DELETED in ("MODIFIED", "DELETED")
    print(dynkube.EventType.ADDED, dynkube.PropagationPolicy.FOREGROUND)
    assert capsys.readouterr().out == "ADDED Foreground\n"
