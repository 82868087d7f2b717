"""The command line: exit codes, one-line errors without tracebacks, the metrics.json contract."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from twin_core.cli import EXIT_ERROR, EXIT_INVALID_DATA, EXIT_OK, main

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin_core", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_train_writes_the_metrics_contract(demo_parquet_dir, tmp_path):
    done = _run("train", str(demo_parquet_dir), "--preset", "quick", "--out", str(tmp_path / "run"))
    assert done.returncode == EXIT_OK, done.stderr
    assert "R² hold-out" in done.stdout and "identity" in done.stdout and "purge gap" in done.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics["rows"]) == {"train", "gap", "test"}
    assert metrics["models"][0]["layer"] == 1 and "r2_oof" in metrics["models"][0]
    assert {"identity", "persistence", "mean"} <= set(metrics["baselines"])
    assert {"layer", "name", "r2_holdout"} <= set(metrics["best"])
    assert (tmp_path / "run" / "predictions.parquet").stat().st_size > 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["name"] == "quick"


def test_config_file_round_trip_through_the_cli(demo_parquet_dir, tmp_path, capsys):
    assert main(["config", "quick"]) == EXIT_OK
    config_file = tmp_path / "quick.json"
    config_file.write_text(capsys.readouterr().out)
    assert main(["train", str(demo_parquet_dir), "--config", str(config_file), "--quiet", "--split",
                 "whole_sessions", "--folds", "3"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "whole sessions held out" in out and "Note: Workload(s)" in out  # said once, as a note


@pytest.mark.parametrize("make_args, code, message", [
    (lambda d, t: ["train", str(t / "missing")], EXIT_INVALID_DATA, "does not exist"),
    (lambda d, t: ["train", str(t / "bad.parquet")], EXIT_INVALID_DATA, "expected an Apache Parquet file"),
    (lambda d, t: ["train", str(d), "--test-fraction", "1.5"], EXIT_ERROR, "strictly between 0 and 1"),
    (lambda d, t: ["train", str(d), "--target", "cpu_util_core_99"], EXIT_INVALID_DATA, "cpu_util_core_99"),
    (lambda d, t: ["train", str(d), "--config", str(t / "bad.json")], EXIT_ERROR, "not valid JSON"),
    (lambda d, t: ["train", str(d), "--config", str(t / "nofile.json")], EXIT_ERROR, "No such file"),
    (lambda d, t: ["validate", str(t / "bad.parquet")], EXIT_INVALID_DATA, "expected an Apache Parquet file"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(demo_parquet_dir, tmp_path, capsys, make_args, code, message):
    (tmp_path / "bad.parquet").write_text("timestamp,cpu_util_overall\n1,2\n")
    (tmp_path / "bad.json").write_text("{oops")
    assert main(make_args(demo_parquet_dir, tmp_path)) == code
    captured = capsys.readouterr()
    assert message in captured.out + captured.err
    assert "Traceback" not in captured.err


def test_validate_reports_ok_data(demo_parquet_dir, capsys):
    assert main(["validate", str(demo_parquet_dir)]) == EXIT_OK
    assert "OK: the data can be used." in capsys.readouterr().out


def test_demo_data_command_writes_loadable_files(tmp_path, capsys):
    assert main(["demo-data", str(tmp_path), "--rows", "800", "--cores", "4", "--sessions", "2"]) == EXIT_OK
    assert len(list(tmp_path.glob("*.parquet"))) == 2
    assert main(["validate", str(tmp_path)]) == EXIT_OK


def test_errors_exit_without_a_traceback_in_a_real_process(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"\x00garbage")
    done = _run("train", str(tmp_path / "bad.parquet"))
    assert done.returncode == EXIT_INVALID_DATA
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_train_keeps_the_run_in_the_store(demo_parquet_dir, tmp_path, capsys):
    db = tmp_path / "runs.sqlite"
    assert main(["train", str(demo_parquet_dir), "--preset", "quick", "--quiet", "--store", str(db),
                 "--label", "morning"]) == EXIT_OK
    assert "Kept as run" in capsys.readouterr().out
    assert main(["runs", "list", "--store", str(db)]) == EXIT_OK
    listing = capsys.readouterr().out
    assert "morning" in listing and "cpu_util_core_0" in listing
    run_id = listing.splitlines()[1].split()[0]
    assert main(["runs", "show", run_id, "--store", str(db)]) == EXIT_OK
    assert "R² hold-out" in capsys.readouterr().out
    assert main(["runs", "delete", run_id, "--store", str(db)]) == EXIT_OK
    assert main(["runs", "show", run_id, "--store", str(db)]) == EXIT_ERROR
    assert "No run" in capsys.readouterr().err
