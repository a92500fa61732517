"""How a :class:`shared.platform.settings.Settings` field is declared and parsed:
:func:`setting` keeps a field's variable, group, doc and parser in its metadata, so each
default is written once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import MjdError

#: the groups of the README's table, in its order
GROUPS = ("queue", "store", "api", "serving", "generation", "telemetry")
#: (variable name, its text or None when unset, the default) -> the setting's value
Parse = Callable[[str, "str | None", Any], Any]


def plain(name: str, text: str | None, default: Any) -> Any:
    return text or default


def path(name: str, text: str | None, default: Path) -> Path:
    return Path(text) if text else default


def resolved_path(name: str, text: str | None, default: Path) -> Path:
    return Path(text or default).resolve()


def number(kind: type = float, *, zero_ok: bool = False) -> Parse:
    """A positive number (or zero, with ``zero_ok``) as ``kind``; unset or empty: the default."""

    def parse(name: str, text: str | None, default: Any) -> Any:
        if text is None or text == "":
            return default
        try:
            value = float(text)
        except ValueError:
            raise MjdError(f"environment variable {name} must be a number, got {text!r}") from None
        if value < 0 or (value == 0 and not zero_ok):
            raise MjdError(f"environment variable {name} must be positive, got {text!r}")
        return kind(value)

    return parse


def port(name: str, text: str | None, default: int | None) -> int | None:
    """A port number; unset, empty or 0: none."""
    return number(int, zero_ok=True)(name, text, 0) or default


def split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def names(name: str, text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list."""
    return split(text) or default


def choice(choices: tuple[str, ...]) -> Parse:
    def parse(name: str, text: str | None, default: str) -> str:
        value = (text or default).lower()
        if value not in choices:
            raise MjdError(f"environment variable {name} must be one of {', '.join(choices)}")
        return value

    return parse


def rate_limits(name: str, text: str | None, default: dict[str, int]) -> dict[str, int]:
    """MJD_RATE_LIMITS ("scope=per minute,..."), over the defaults."""
    limits = dict(default)
    for part in split(text):
        scope, _, value = part.partition("=")
        if scope.strip() not in limits or not value.strip().isdigit():
            raise MjdError(
                f"{name} takes scope=requests per minute ({', '.join(limits)}), got {part[:40]!r}"
            )
        limits[scope.strip()] = int(value)
    return limits


@dataclass(frozen=True, slots=True)
class Variable:
    """What a :class:`Settings` field reads: ``shown`` is the default as the docs say it."""

    env: str
    group: str
    doc: str
    parse: Parse
    shown: str


def shown_default(default: Any) -> str:
    if default in (None, (), {}):
        return "none"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    if isinstance(default, dict):
        return ",".join(f"{key}={value}" for key, value in default.items())
    return str(default)


def setting(
    env: str, default: Any, group: str, doc: str, parse: Parse = plain, shown: str | None = None
) -> Any:
    """A :class:`Settings` field read from ``env``; ``doc``: one line of what it sets."""
    if group not in GROUPS:
        raise ValueError(f"{env}: group {group!r} is not one of {', '.join(GROUPS)}")
    variable = Variable(env, group, doc, parse, shown_default(default) if shown is None else shown)
    metadata = {"variable": variable}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


count = number(int)
positive = number()
non_negative = number(zero_ok=True)
