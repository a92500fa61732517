"""``mjd keys`` and the API's refusal to listen beyond loopback without keys (issue 12), on
a SQLite job store of the test's own."""

from __future__ import annotations

import pytest

from services.cli import main
from shared.platform.auth import digest, parse_key
from shared.platform.db.database import Database


@pytest.fixture
def store_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("MJD_AUTH", raising=False)
    return url


def test_create_prints_the_key_once_and_stores_only_its_digest(capsys, store_url):
    assert main(["keys", "create", "--name", "ci", "--scope", "submit", "--scope", "read"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    key_id, secret = parse_key(token)
    db = Database(store_url)
    stored = db.keys.get_key(key_id)
    assert stored.scopes == ("read", "submit") and stored.name == "ci"
    assert stored.digest == digest(secret) and secret not in repr(stored)
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "active" in listed and secret not in listed
    assert main(["keys", "revoke", key_id]) == 0
    assert db.keys.get_key(key_id).revoked is not None
    assert main(["keys", "revoke", key_id]) == 2  # once
    assert capsys.readouterr().err.count("\n") == 1


def test_an_unknown_scope_is_a_usage_error(capsys, store_url):
    with pytest.raises(SystemExit) as exit_:
        main(["keys", "create", "--name", "x", "--scope", "root"])
    assert exit_.value.code == 2


def test_the_api_will_not_listen_beyond_loopback_without_a_key(capsys, store_url):
    assert main(["api", "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "mjd keys create" in error and "MJD_AUTH=off" in error
