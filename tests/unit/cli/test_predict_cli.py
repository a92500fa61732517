"""`mjd predict`: an unknown model version names where it looked."""

from __future__ import annotations

from services.cli import main


def test_predict_of_an_unknown_version_names_the_models_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "elsewhere"))
    from shared.platform import jobs

    jobs.settings.cache_clear()
    jobs.store.cache_clear()
    try:
        argv = ["predict", "--model", "v1", "--input", "dev", "--out", str(tmp_path / "p.jsonl")]
        assert main(argv) == 2
    finally:
        jobs.settings.cache_clear()
        jobs.store.cache_clear()
    err = capsys.readouterr().err
    assert f"no model version 'v1' in {tmp_path / 'elsewhere' / 'models'}" in err
    assert "ARTIFACTS_DIR" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "elsewhere").exists()  # a read-only command creates no job store
