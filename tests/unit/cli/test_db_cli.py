"""``mjd db upgrade`` / ``mjd db current`` on a real SQLite file: operators migrate with them
before a rollout, so they must report the true revision and fail in one line, never a
traceback, when DATABASE_URL is wrong."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from services.cli import main
from shared.platform.db.database import current_revision, migrate

HEAD = "0005"


@pytest.fixture
def artifacts(tmp_path, monkeypatch):
    """The default store (mjd.db under ARTIFACTS_DIR) in a fresh folder."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["db", *argv])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def test_upgrade_creates_the_default_store_and_prints_the_head(capsys, artifacts):
    code, out, err = run(capsys, "upgrade")
    assert (code, out, err) == (0, HEAD, "")
    engine = create_engine(f"sqlite:///{artifacts / 'mjd.db'}")
    try:
        assert current_revision(engine) == HEAD
        assert {"jobs", "datasets"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert run(capsys, "current") == (0, f"{HEAD} (head)", "")


def test_current_names_a_database_behind_head_and_upgrade_brings_it_up(
    capsys, tmp_path, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = create_engine(url)
    try:
        migrate(engine, "0001")
        code, out, _ = run(capsys, "current")
        assert code == 0 and out.startswith("0001 ") and "mjd db upgrade" in out
        assert run(capsys, "upgrade")[:2] == (0, HEAD)
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()


def test_current_on_an_empty_database_says_none(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, out, _ = run(capsys, "current")
    assert code == 0 and out.startswith("none ")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "not a database URL"),
        ("nosuchdb://host/x", "Can't load plugin"),
        ("sqlite:////nonexistent-mjd-dir/sub/x.db", "unable to open database file"),
        ("postgresql+psycopg://mjd:hunter2@127.0.0.1:1/mjd", "Connection refused"),
    ],
)
def test_a_bad_database_url_is_one_line_and_exit_2(capsys, monkeypatch, url, reason):
    monkeypatch.setenv("DATABASE_URL", url)
    command = "current" if url.startswith("sqlite") else "upgrade"
    code, out, err = run(capsys, command)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("mjd: error:")
    assert reason in err
    assert "hunter2" not in err  # the password is never printed


def test_db_needs_an_action(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["db"])
    assert exit_info.value.code == 2
    assert "upgrade|current" in capsys.readouterr().err
