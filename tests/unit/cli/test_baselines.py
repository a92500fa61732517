"""The paper's reference rows, reproduced from the vendored data (values from the authors' code)."""

from __future__ import annotations

import json

import pytest

from services.cli import main
from shared.baselines import evaluate_baselines

REFERENCE = {
    "uniform": (0.3649, 0.3070, 0.3505, 0.0000),
    "mnli-one-hot": (9.2876, 0.4217, 0.4352, 0.6122),
    "mnli-distribution": (1.2425, 0.2092, 0.2147, 0.7949),
    "varierr-distribution": (3.6037, 0.2821, 0.2858, 0.6882),
}


def test_baselines_match_the_authors_reference_to_four_decimals(explained):
    reports = evaluate_baselines(explained, resamples=0)
    assert set(reports) == set(REFERENCE)
    for name, expected in REFERENCE.items():
        got = tuple(round(v, 4) for v in reports[name].headline().values())
        assert got == pytest.approx(expected, abs=1e-12), name


def test_cli_baselines_prints_the_reference_rows(capsys):
    assert main(["baselines", "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    for name, expected in REFERENCE.items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert line.split()[1:] == [f"{v:.4f}" for v in expected]


def test_cli_baselines_json_on_a_file_without_mnli_labels(capsys, tmp_path, explained):
    path = tmp_path / "plain.jsonl"
    path.write_text(
        "".join(
            json.dumps({"premise": i.premise, "hypothesis": i.hypothesis, "label": i.human.probs})
            + "\n"
            for i in explained[:50]
        )
    )
    assert main(["baselines", "--data", str(path), "--format", "json", "--bootstrap", "0"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload["baselines"]) == ["uniform"]
    assert payload["baselines"]["uniform"]["n"] == 50
