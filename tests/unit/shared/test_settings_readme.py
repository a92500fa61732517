"""Configuration from one source: the README's table of variables is the one the settings'
declarations generate, and each declaration's default is the default from_env gives."""

from __future__ import annotations

import dataclasses

from shared.platform.settings import ENVIRONMENT, VARIABLES, Settings
from shared.platform.settings_table import (
    BEGIN,
    END,
    README,
    REGENERATE,
    environment_table,
    with_table,
)


def test_the_readme_table_is_the_generated_one():
    readme = README.read_text()
    assert readme.count(BEGIN) == 1 and readme.count(END) == 1
    assert readme == with_table(readme), (
        "README.md's table of variables differs from shared/platform/settings.py: "
        f"run `{REGENERATE}`"
    )


def test_every_setting_is_one_documented_variable():
    names = [field.metadata["variable"].env for field in dataclasses.fields(Settings)]
    assert len(names) == len(set(names)) == len(VARIABLES) == len(ENVIRONMENT)
    for name, variable in VARIABLES.items():
        assert variable.doc and "\n" not in variable.doc and "|" not in variable.doc, name
        assert f"| `{name}` | {variable.shown} | {variable.doc} |" in environment_table()
        assert ENVIRONMENT[name].endswith(f"(default {variable.shown})")


def test_an_empty_environment_gives_the_declared_defaults():
    declared = Settings()
    read = Settings.from_env({})
    assert read == dataclasses.replace(declared, artifacts_dir=declared.artifacts_dir.resolve())
