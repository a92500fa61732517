from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.datasets import read_instances, vendored_path
from shared.schemas import Instance

#: the marker each test folder's tests carry (``make check`` leaves them out)
FOLDER_MARKERS = {"integration": pytest.mark.integration, "e2e": pytest.mark.e2e}
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder, so ``-m "not integration and not e2e"`` needs no per-file marks."""
    for item in items:
        path = item.path.resolve()
        if not path.is_relative_to(TESTS):
            continue
        marker = FOLDER_MARKERS.get(path.relative_to(TESTS).parts[0])
        if marker is not None:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def explained() -> list[Instance]:
    return read_instances(vendored_path("explained"))


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[[str, Iterable[Any]], Path]:
    """Write raw lines (str) or records (anything else, as JSON) to a file under tmp_path."""

    def write(name: str, rows: Iterable[Any]) -> Path:
        path = tmp_path / name
        path.write_text(
            "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
        )
        return path

    return write


@pytest.fixture(scope="session")
def student_model(tmp_path_factory, explained) -> Path:
    """A small real student (16 explained items, 2 epochs), trained and exported through the
    CLI: the folder ``mjd export --out`` writes (ONNX files, tokenizer, metadata.json)."""
    from services.cli import main

    folder = tmp_path_factory.mktemp("student")
    data = folder / "train.jsonl"
    data.write_text("".join(json.dumps(i.to_json()) + "\n" for i in explained[:16]))
    check = folder / "check.jsonl"
    check.write_text("".join(json.dumps(i.to_json()) + "\n" for i in explained[300:332]))
    assert main(["train", "--data", str(data), "--epochs", "2", "--dev-fraction", "0.25",
                 "--learning-rate", "1e-4", "--out", str(folder / "checkpoint")]) == 0  # fmt: skip
    assert main(["export", str(folder / "checkpoint"), "--out", str(folder / "model"),
                 "--check", str(check)]) == 0  # fmt: skip
    return folder / "model"


def publish_copy(registry: Any, model: Path) -> str:
    """Publish a copy of an exported model folder as a new version of ``registry``."""
    import shutil

    from shared.platform.layout import MODEL_METADATA

    version = registry.claim_version()
    for path in model.iterdir():
        if path.name != MODEL_METADATA:
            shutil.copy(path, registry.folder(version) / path.name)
    metadata = json.loads((model / MODEL_METADATA).read_text())
    for key in ("version", "created", "files"):
        metadata.pop(key, None)
    registry.publish(version, metadata)
    return version


#: what Prometheus 2.x asks a scrape target for (OpenMetrics first, then the text format)
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;"
    "version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
#: the exact content types of a /metrics answer: the text format (to curl, a browser) and
#: OpenMetrics (to Prometheus); one charset each
TEXT_EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_EXPOSITION = (
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
)


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """Check an RFC 9457 problem-details answer (status, media type, detail, field)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


# ---------------------------------------------------------------------------- job store backends

#: the server the session creates its PostgreSQL database on (trust auth, as on CI)
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


#: the tables the job store's migrations create (and nothing else is dropped)
def _store_tables() -> tuple[str, ...]:
    from shared.platform.db.models import Base

    return (*Base.metadata.tables, "alembic_version")


#: every table of the job store, as its models declare them, and Alembic's
STORE_TABLES = _store_tables()


def drop_store_tables(url: str) -> None:
    """Drop the job store's tables (only those), so the next test starts from empty."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for table in STORE_TABLES:
                connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()


def store_tables(url: str) -> set[str]:
    """The job store's tables present in the database at ``url``."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) & set(STORE_TABLES)
    finally:
        engine.dispose()


def _postgres_database() -> Iterator[str]:
    """A database this session creates on the local server and drops at its end."""
    from sqlalchemy.exc import OperationalError

    from tests.databases import scratch_database

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(POSTGRES_ADMIN_URL, "mjd_test"))
        except OperationalError as exc:
            pytest.fail(
                f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc.orig}); start it, "
                "or set MJD_TEST_DATABASE_URL to a database the tests may use",
                pytrace=False,
            )
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A job store database of each backend: a SQLite file in a temporary folder, and a
    PostgreSQL database this session creates (and drops) on 127.0.0.1:5432, or the one
    MJD_TEST_DATABASE_URL names (used as is; it must not hold the store's tables already,
    since the tests drop them). No silent skip when PostgreSQL is missing: CI has one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'mjd.db'}"
        return
    named = os.environ.get("MJD_TEST_DATABASE_URL")
    if not named:
        yield from _postgres_database()
        return
    from sqlalchemy.exc import OperationalError

    try:
        present = store_tables(named)
    except OperationalError as exc:
        pytest.fail(f"MJD_TEST_DATABASE_URL is not reachable: {exc.orig}", pytrace=False)
    if present:
        pytest.fail(
            f"MJD_TEST_DATABASE_URL names a database that already has {sorted(present)}; "
            "the tests drop those tables, so give them an empty database",
            pytrace=False,
        )
    try:
        yield named
    finally:
        drop_store_tables(named)


@pytest.fixture
def empty_database_url(database_url: str) -> Iterator[str]:
    """``database_url`` without the store's tables before and after the test."""
    assert not store_tables(database_url), "a previous test left the store's tables"
    yield database_url
    drop_store_tables(database_url)


def make_key(database: Any, *scopes: str, name: str = "test") -> dict[str, str]:
    """A new key with ``scopes``; the Authorization header that sends it."""
    from shared.platform.auth import digest, new_key

    key_id, secret, token = new_key()
    database.keys.add_key(key_id, name, [str(s) for s in scopes], digest(secret))
    return {"authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------- a tiny LLM


@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory) -> Path:
    """A 2-layer Llama with random weights and SmolLM2's own tokenizer (chat template and
    letter tokens included), saved as the model directory the local backend loads: for tests
    of the backend's machinery (prefix tree, batching, threads), where the real LLM's answers
    are not the point. Embeddings untied, so the output layer is a weight of its own."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from services.generator.backends.model_files import default_model_path

    gguf = default_model_path()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        initializer_range=0.1,  # logits far enough apart that a wrong mask shows in them
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_llm")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
