"""The job store against both backends it runs on (SQLite, the embedded default, and
PostgreSQL, what deployments use): the state machine workers and the API rely on, paging,
the reconciler's queries, datasets, concurrent writers and the migrations from every
starting point a real database can be in."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shared.platform.db.database import Database, current_revision, migrate
from shared.platform.db.datasets import Dataset
from shared.platform.db.jobs import MAX_ERROR_CHARS, JobState, Priority
from shared.platform.db.models import JobRow

HEAD = "0005"


@pytest.fixture
def store(empty_database_url: str) -> Iterator[Database]:
    db = Database(empty_database_url)
    yield db
    db.close()


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    """A bare engine on an empty database, for driving the migrations by hand."""
    bare = create_engine(empty_database_url)
    yield bare
    bare.dispose()


def set_created(store: Database, times: dict[str, float]) -> None:
    """Give jobs chosen creation times (create_job stamps the clock, which can tie)."""
    with store.engine.begin() as connection:
        for job_id, created in times.items():
            connection.execute(update(JobRow).where(JobRow.id == job_id).values(created=created))


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


# ---------------------------------------------------------------------------- state machine


def test_a_new_job_is_queued_with_nothing_done(store):
    job = store.jobs.create_job("j1", "mjd", {"dataset": "d1", "k": 0})
    assert job.state == JobState.QUEUED
    stored = store.jobs.get_job("j1")
    assert stored == job
    assert stored.spec == {"dataset": "d1", "k": 0}
    assert stored.attempts == 0 and stored.requeued == 0
    assert stored.started is None and stored.finished is None and stored.error is None
    assert store.jobs.get_job("nope") is None


def test_each_delivery_starts_the_job_again_and_counts_an_attempt(store):
    store.jobs.create_job("j1", "mjd", {})
    first = store.jobs.start("j1")
    assert first is not None and first.state == JobState.RUNNING and first.attempts == 1
    assert first.started is not None
    second = store.jobs.start("j1")  # redelivered after a worker died: RUNNING again
    assert second is not None and second.state == JobState.RUNNING and second.attempts == 2
    assert store.jobs.get_job("j1").attempts == 2
    assert store.jobs.start("unknown") is None


@pytest.mark.parametrize("end", ["succeed", "fail", "cancel"])
def test_finished_jobs_refuse_start_and_progress(store, end):
    store.jobs.create_job("j1", "metrics", {})
    store.jobs.start("j1")
    store.jobs.progress("j1", 2, 5)
    finish = {
        "succeed": lambda: store.jobs.succeed("j1", {"n": 1}),
        "fail": lambda: store.jobs.fail("j1", "boom"),
        "cancel": lambda: store.jobs.cancel("j1"),
    }[end]
    assert finish() is True
    final = store.jobs.get_job("j1")
    assert final.state in {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}
    assert final.finished is not None
    assert store.jobs.start("j1") is None
    assert store.jobs.progress("j1", 4, 5) == final.state
    assert store.jobs.fail("j1", "late") is False and store.jobs.cancel("j1") is False
    assert store.jobs.succeed("j1", {"late": True}) is False
    after = store.jobs.get_job("j1")
    assert after == final  # nothing changed: attempts, progress, error, summary


def test_progress_returns_cancelled_once_the_job_is_cancelled(store):
    store.jobs.create_job("j1", "mjd", {})
    store.jobs.start("j1")
    assert store.jobs.progress("j1", 1, 10) == JobState.RUNNING
    assert store.jobs.cancel("j1") is True
    assert store.jobs.progress("j1", 2, 10) == JobState.CANCELLED
    job = store.jobs.get_job("j1")
    assert (job.done, job.total) == (1, 10)  # the cancelled job's progress is frozen
    assert store.jobs.progress("unknown", 1, 1) is None


def test_a_queued_job_can_be_cancelled_but_not_succeeded(store):
    store.jobs.create_job("j1", "mjd", {})
    assert store.jobs.succeed("j1", {}) is False  # only a running job succeeds
    assert store.jobs.progress("j1", 1, 2) == JobState.QUEUED
    assert store.jobs.get_job("j1").done is None
    assert store.jobs.cancel("j1") is True
    assert store.jobs.get_job("j1").state == JobState.CANCELLED


def test_succeed_completes_the_progress_and_keeps_the_summary(store):
    store.jobs.create_job("j1", "mjd", {})
    store.jobs.start("j1")
    store.jobs.progress("j1", 3, 10)
    summary = {"records": 10, "artifacts": ["records.jsonl"]}
    assert store.jobs.succeed("j1", summary) is True
    job = store.jobs.get_job("j1")
    assert job.state == JobState.SUCCEEDED
    assert (job.done, job.total) == (10, 10)
    assert job.summary == summary and job.error is None
    assert job.finished >= job.started


def test_succeed_without_progress_leaves_it_empty(store):
    store.jobs.create_job("j1", "metrics", {})
    store.jobs.start("j1")
    assert store.jobs.succeed("j1", {"rows": 3}) is True
    job = store.jobs.get_job("j1")
    assert (job.done, job.total) == (None, None) and job.summary == {"rows": 3}


def test_fail_keeps_the_head_of_a_long_error(store):
    store.jobs.create_job("j1", "training", {})
    store.jobs.start("j1")
    error = "MemoryError: " + "x" * (3 * MAX_ERROR_CHARS)
    assert store.jobs.fail("j1", error) is True
    job = store.jobs.get_job("j1")
    assert job.state == JobState.FAILED
    assert job.error == error[:MAX_ERROR_CHARS] and len(job.error) == MAX_ERROR_CHARS
    store.jobs.create_job("j2", "training", {})  # a queued job can fail too ("could not queue")
    assert store.jobs.fail("j2", "could not queue") is True
    assert store.jobs.get_job("j2").error == "could not queue"


# ---------------------------------------------------------------------------- listing


@pytest.fixture
def listed(store) -> dict[str, tuple[str, JobState]]:
    """Seven jobs of three kinds and several states, created at times 1..7 (j7 newest)."""
    plan = {
        "j1": ("mjd", JobState.SUCCEEDED),
        "j2": ("metrics", JobState.FAILED),
        "j3": ("mjd", JobState.RUNNING),
        "j4": ("training", JobState.QUEUED),
        "j5": ("mjd", JobState.QUEUED),
        "j6": ("metrics", JobState.SUCCEEDED),
        "j7": ("mjd", JobState.CANCELLED),
    }
    for job_id, (kind, state) in plan.items():
        store.jobs.create_job(job_id, kind, {"n": job_id})
        if state != JobState.QUEUED:
            store.jobs.start(job_id)
        if state == JobState.SUCCEEDED:
            store.jobs.succeed(job_id, {})
        elif state == JobState.FAILED:
            store.jobs.fail(job_id, "boom")
        elif state == JobState.CANCELLED:
            store.jobs.cancel(job_id)
    set_created(store, {job_id: float(i) for i, job_id in enumerate(plan, start=1)})
    return plan


def test_list_pages_newest_first_with_the_total(store, listed):
    total, page = store.jobs.list_jobs(None, None, limit=3, offset=0)
    assert total == 7
    assert [j.id for j in page] == ["j7", "j6", "j5"]
    seen = []
    for offset in range(0, 9, 3):
        total, page = store.jobs.list_jobs(None, None, limit=3, offset=offset)
        assert total == 7
        seen += [j.id for j in page]
    assert seen == [f"j{i}" for i in range(7, 0, -1)]  # every job once, in order
    assert store.jobs.list_jobs(None, None, limit=3, offset=50) == (7, [])


def test_list_filters_by_kind_and_state(store, listed):
    total, page = store.jobs.list_jobs("mjd", None, limit=2, offset=0)
    assert total == 4 and [j.id for j in page] == ["j7", "j5"]
    total, page = store.jobs.list_jobs(None, JobState.SUCCEEDED, limit=10, offset=0)
    assert total == 2 and [j.id for j in page] == ["j6", "j1"]
    total, page = store.jobs.list_jobs("mjd", JobState.QUEUED, limit=10, offset=0)
    assert total == 1 and [j.id for j in page] == ["j5"]
    assert store.jobs.list_jobs("training", JobState.FAILED, limit=10, offset=0) == (0, [])
    for job in store.jobs.list_jobs("metrics", None, limit=10, offset=0)[1]:
        assert (job.kind, job.state) == listed[job.id]


def test_equal_creation_times_page_without_loss(store):
    for i in range(5):
        store.jobs.create_job(f"t{i}", "mjd", {})
    set_created(store, {f"t{i}": 100.0 for i in range(5)})
    pages = [store.jobs.list_jobs(None, None, limit=2, offset=o)[1] for o in (0, 2, 4)]
    assert [j.id for page in pages for j in page] == ["t4", "t3", "t2", "t1", "t0"]


# ---------------------------------------------------------------------------- reconciler queries


def test_unfinished_lists_old_queued_and_running_jobs_oldest_first(store, listed):
    assert [j.id for j in store.jobs.unfinished(older_than=100.0)] == ["j3", "j4", "j5"]
    assert [j.id for j in store.jobs.unfinished(older_than=4.5)] == ["j3", "j4"]
    assert store.jobs.unfinished(older_than=1.0) == []


def test_mark_requeued_puts_an_unfinished_job_back_and_counts(store, listed):
    assert store.jobs.mark_requeued("j3") is True  # RUNNING -> QUEUED
    job = store.jobs.get_job("j3")
    assert job.state == JobState.QUEUED and job.requeued == 1
    assert store.jobs.mark_requeued("j3") is True
    assert store.jobs.get_job("j3").requeued == 2
    assert store.jobs.mark_requeued("j1") is False  # finished jobs stay finished
    assert store.jobs.get_job("j1").state == JobState.SUCCEEDED
    assert store.jobs.get_job("j1").requeued == 0
    assert store.jobs.mark_requeued("unknown") is False


# ---------------------------------------------------------------------------- datasets, readiness


def test_datasets_are_stored_and_read_back(store):
    dataset = Dataset(
        id="d1", name="chaos", instances=341, with_human=341, with_explanations=12, created=5.5
    )
    store.datasets.add_dataset(dataset)
    assert store.datasets.get_dataset("d1") == dataset
    assert store.datasets.get_dataset("d2") is None
    unnamed = Dataset(
        id="d2", name=None, instances=1, with_human=0, with_explanations=0, created=6.0
    )
    store.datasets.add_dataset(unnamed)
    assert store.datasets.get_dataset("d2") == unnamed
    with pytest.raises(IntegrityError):
        store.datasets.add_dataset(dataset)  # ids are unique


def test_writable_is_true_on_a_migrated_store_and_false_without_the_schema(empty_database_url):
    bare = Database(empty_database_url, upgrade=False)
    try:
        assert bare.writable() is False  # no jobs table: readiness must say so
    finally:
        bare.close()
    store = Database(empty_database_url)
    try:
        assert store.writable() is True
        assert store.jobs.list_jobs(None, None, 10, 0) == (0, [])  # the probe wrote no row
    finally:
        store.close()


# ---------------------------------------------------------------------------- concurrency


def test_threads_starting_and_reporting_distinct_jobs_do_not_collide(store):
    threads, rounds = 8, 15
    for i in range(threads):
        store.jobs.create_job(f"c{i}", "mjd", {})
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(job_id: str) -> None:
        try:
            barrier.wait()
            for step in range(1, rounds + 1):
                assert store.jobs.start(job_id) is not None
                assert store.jobs.progress(job_id, step, rounds) == JobState.RUNNING
        except BaseException as exc:  # reported below, with the thread's job
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(f"c{i}",)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(120)
    assert not errors, errors
    for i in range(threads):
        job = store.jobs.get_job(f"c{i}")
        assert job.attempts == rounds and (job.done, job.total) == (rounds, rounds)


# ---------------------------------------------------------------------------- migrations


def test_migrate_from_empty_to_head(engine):
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == HEAD
    assert {"jobs", "datasets", "alembic_version"} <= tables(engine)
    indexes = {index["name"] for index in inspect(engine).get_indexes("jobs")}
    assert {"ix_jobs_created", "ix_jobs_kind_created", "ix_jobs_state_created"} <= indexes
    migrate(engine)  # again: nothing to do (every process upgrades at start)
    assert current_revision(engine) == HEAD


def test_migrations_build_the_schema_the_models_describe(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from shared.platform.db.models import Base

    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrate_from_the_previous_revision_keeps_the_jobs(engine, empty_database_url):
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "datasets" not in tables(engine)
    with engine.begin() as connection:  # a row as the 0001 schema holds it, in plain SQL
        connection.execute(
            text(
                "INSERT INTO jobs (id, kind, state, spec, created, started, done, total,"
                " attempts, requeued, error)"
                " VALUES ('old1', 'mjd', 'RUNNING', '{\"dataset\": \"d1\", \"k\": 4}', 1000.5,"
                " 1001.0, 3, 9, 1, 0, NULL)"
            )
        )
    migrate(engine)
    assert current_revision(engine) == HEAD
    assert "datasets" in tables(engine)
    store = Database(empty_database_url)
    try:
        job = store.jobs.get_job("old1")
        assert job is not None
        assert (job.kind, job.state) == ("mjd", JobState.RUNNING)
        assert job.spec == {"dataset": "d1", "k": 4}
        assert (job.created, job.started, job.done, job.total) == (1000.5, 1001.0, 3, 9)
        assert job.attempts == 1 and job.requeued == 0 and job.error is None
        assert store.jobs.succeed("old1", {"records": 9}) is True  # the old row works on
        store.datasets.add_dataset(Dataset("d1", None, 9, 9, 0, 1.0))
        assert store.datasets.get_dataset("d1") is not None
    finally:
        store.close()


def test_downgrade_to_base_and_up_again(engine):
    migrate(engine)
    migrate(engine, "0001", down=True)
    assert current_revision(engine) == "0001"
    assert "datasets" not in tables(engine) and "jobs" in tables(engine)
    migrate(engine, "base", down=True)
    assert current_revision(engine) is None
    assert not {"jobs", "datasets"} & tables(engine)
    migrate(engine)
    assert current_revision(engine) == HEAD
    assert {"jobs", "datasets"} <= tables(engine)


def test_migrate_from_0002_keeps_jobs_at_normal_priority(engine, empty_database_url):
    migrate(engine, "0002")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, kind, state, spec, created, attempts, requeued)"
                " VALUES ('old2', 'mjd', 'QUEUED', '{}', 5.0, 0, 0)"
            )
        )
    migrate(engine)
    assert {"bootstraps", "models"} <= tables(engine)
    store = Database(empty_database_url)
    try:
        assert store.jobs.get_job("old2").priority == Priority.NORMAL
        assert store.jobs.waiting("mjd") == 1
    finally:
        store.close()


# ---------------------------------------------------------------------------- background jobs


def test_a_background_job_hands_back_without_spending_an_attempt(store):
    store.jobs.create_job("bg", "mjd", {}, Priority.BACKGROUND)
    store.jobs.create_job("user", "mjd", {})
    store.jobs.create_job("other", "metrics", {})
    assert store.jobs.waiting("mjd") == 1 and store.jobs.waiting("mjd", Priority.BACKGROUND) == 1
    assert store.jobs.start("bg").attempts == 1
    assert store.jobs.hand_back("bg") is True
    again = store.jobs.get_job("bg")
    assert again.state == JobState.QUEUED and again.attempts == 0
    assert store.jobs.hand_back("bg") is False  # only a running job hands back
    store.jobs.start("user")
    assert store.jobs.waiting("mjd") == 0


# ---------------------------------------------------------------------------- bootstraps


def test_bootstraps_are_numbered_and_a_racing_claim_loses(store):
    assert store.bootstraps.latest_bootstrap() is None
    first = store.bootstraps.claim_bootstrap(12)
    assert first is not None and first.number == 1 and first.mjd_job_id is None
    assert store.bootstraps.note_bootstrap(1, "mjd_job_id", "j1") is True
    assert store.bootstraps.note_bootstrap(1, "mjd_job_id", "j2") is False  # noted once
    assert store.bootstraps.latest_bootstrap().mjd_job_id == "j1"
    with store.engine.begin() as connection:  # another starter took number 2 meanwhile
        connection.execute(
            text("INSERT INTO bootstraps (number, created, items) VALUES (2, 1.0, 8)")
        )
    assert store.bootstraps.claim_bootstrap(8).number == 3  # sees it, claims the next
    claims = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        barrier.wait()
        claims.append(store.bootstraps.claim_bootstrap(8))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [c.number for c in claims if c is not None]
    assert len(won) == len(set(won)) >= 1  # never two with one number


# ---------------------------------------------------------------------------- model versions


def test_model_versions_listed_newest_first_and_the_last_promoted_served(store):
    for number in (1, 2, 10):
        record = {"version": f"v{number}", "created": float(number), "job_id": f"j{number}"}
        assert store.models.add_model(record) is True
    assert store.models.add_model({"version": "v2", "created": 9.0}) is False  # published once
    assert [m["version"] for m in store.models.list_models()] == ["v10", "v2", "v1"]
    assert store.models.get_model("v2")["job_id"] == "j2" and store.models.get_model("v3") is None
    assert store.models.promoted_model() is None
    assert store.models.promote_model("v2", 100.0) and store.models.promote_model("v1", 200.0)
    assert store.models.promoted_model() == ("v1", 200.0)
    assert store.models.promote_model("v3", 300.0) is False


def test_migrate_from_0003_leaves_old_jobs_and_datasets_without_an_owner(
    engine, empty_database_url
):
    migrate(engine, "0003")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, kind, state, priority, spec, created, attempts, requeued)"
                " VALUES ('old3', 'mjd', 'QUEUED', 'normal', '{}', 5.0, 0, 0)"
            )
        )
    migrate(engine)
    assert "api_keys" in tables(engine)
    store = Database(empty_database_url)
    try:
        assert store.jobs.get_job("old3").owner is None
        assert store.jobs.list_jobs(None, None, 10, 0, owner="k1") == (0, [])
        assert store.jobs.list_jobs(None, None, 10, 0)[0] == 1  # an admin sees it
        assert store.keys.active_keys() == 0
        store.keys.add_key("k1", "ops", ["admin"], "0" * 64)
        assert (
            store.keys.active_keys() == 1
            and store.keys.revoke_key("k1")
            and not store.keys.revoke_key("k1")
        )
    finally:
        store.close()
