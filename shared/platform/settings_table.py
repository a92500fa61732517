"""The README's table of environment variables, generated from the settings' declarations.
``python -m shared.platform.settings_table`` rewrites it in README.md between the markers."""

from __future__ import annotations

import sys
from pathlib import Path

from shared.platform.setting_fields import GROUPS
from shared.platform.settings import VARIABLES

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- settings:begin -->"
END = "<!-- settings:end -->"
#: the command that regenerates the table, for messages that ask for it
REGENERATE = "python -m shared.platform.settings_table"


def environment_table() -> str:
    """One Markdown table per group: variable, default, what it sets."""
    parts = []
    for group in GROUPS:
        rows = [v for v in VARIABLES.values() if v.group == group]
        parts.append(f"**{group}**\n\n| variable | default | what it sets |\n|---|---|---|")
        parts.extend(f"| `{v.env}` | {v.shown} | {v.doc} |" for v in rows)
        parts.append("")
    return "\n".join(parts).rstrip("\n")


def with_table(readme: str) -> str:
    """``readme`` with the generated table between its markers."""
    head, begin, rest = readme.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the README needs {BEGIN} and {END} around its table of variables")
    return f"{head}{BEGIN}\n{environment_table()}\n{END}{tail}"


def main() -> int:
    README.write_text(with_table(README.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
