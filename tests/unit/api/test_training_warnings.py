"""Issue 13: a training job's warnings (a dev set of 2 items, a calibration at T = 100) reach
its job view; the API's summary schema used to drop them."""

from __future__ import annotations

from shared.training import dev_set_warnings


def test_the_job_view_of_a_training_job_shows_its_warnings(make_api, database):
    warnings = ["calibration: the temperature hit its upper bound (T = 100)", *dev_set_warnings(2)]
    summary = {
        "job_id": "t1",
        "kind": "training",
        "version": "v1",
        "promoted": True,
        "items": 10,
        "best_epoch": 3,
        "dev": {"kl": 0.06, "jsd": 0.1, "tvd": 0.1, "dcorr": 1.0},
        "parity_max_abs_diff": 1e-7,
        "artifacts": ["report.json"],
        "seconds": 1.0,
        "warnings": warnings,
    }
    database.jobs.create_job("t1", "training", {})
    database.jobs.start("t1")
    database.jobs.succeed("t1", summary)
    with make_api() as api:
        view = api.get("/v1/jobs/t1")
        assert view.status_code == 200, view.text
        assert view.json()["summary"]["warnings"] == warnings
