"""The command line: exit codes, one-line errors without tracebacks, the metrics.json contract."""
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_core.cli import EXIT_ERROR, EXIT_INVALID_DATA, EXIT_OK, main
from twin_core.presets import get_preset

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
    report = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>") and "<h1>Run quick</h1>" in report  # named after the preset
    assert f"<td>{html.escape(demo_parquet_dir.name)}</td>" in report and "report.html" in done.stdout
    assert str(demo_parquet_dir.parent) not in report  # named by its files, never by a path on this machine


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
    (lambda d, t: ["train", str(t / "bad.parquet")], EXIT_INVALID_DATA, "a CSV with no cpu_util_core_<n> columns"),
    (lambda d, t: ["train", str(d), "--test-fraction", "1.5"], EXIT_ERROR, "strictly between 0 and 1"),
    (lambda d, t: ["train", str(d), "--target", "cpu_util_core_99"], EXIT_INVALID_DATA, "cpu_util_core_99"),
    (lambda d, t: ["train", str(d), "--config", str(t / "bad.json")], EXIT_ERROR, "not valid JSON"),
    (lambda d, t: ["train", str(d), "--config", str(t / "nofile.json")], EXIT_ERROR, "No such file"),
    (lambda d, t: ["validate", str(t / "bad.parquet")], EXIT_INVALID_DATA, "a CSV with no cpu_util_core_<n> columns"),
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


@pytest.mark.parametrize("sessions, preset, code, line", [
    ([20, 20], "default", EXIT_INVALID_DATA, r"cannot_train +Training would refuse this data: Feature set 'history' "
                                             r"looks back 30 rows .* the longest session has 20\."),
    ([60], "default", EXIT_INVALID_DATA, r"cannot_train +Training would refuse this data: The hold-out .* leaves 0 "
                                         r"training and 6 test rows"),
    ([6], "quick", EXIT_INVALID_DATA, r"cannot_train .* leaves 1 training and 0 test rows"),
    ([40, 40], "quick", EXIT_OK, r"OK: the data can be used\."),
    ([45, 50, 60, 70], "default", EXIT_OK, r"train_adapts +Training would adapt: \(--preset default\) Sessions are "
                                           r"short beside the 30-row purge gap"),
])
def test_validate_refuses_and_adapts_as_train_with_the_preset_would(tmp_path, capsys, sessions, preset, code, line):
    for i, rows in enumerate(sessions):
        frame = pd.DataFrame({"timestamp": 1.7e9 + 900.0 * i + np.arange(rows), "workload_type": "idle",
                              "cpu_util_overall": 50.0, "cpu_util_core_0": np.linspace(0, 100, rows),
                              "cpu_util_core_1": 40.0})
        frame.to_parquet(tmp_path / f"s{i}.parquet")
    assert main(["validate", str(tmp_path), "--preset", preset]) == code
    assert re.search(line, capsys.readouterr().out)
    if code != EXIT_OK:  # train refuses the same data with the same exit code, before any fit
        assert main(["train", str(tmp_path), "--preset", preset, "--quiet"]) == code
        assert capsys.readouterr().err.startswith("error: ")


def test_validate_without_a_preset_accepts_data_some_preset_trains_and_names_those_that_refuse(tmp_path, capsys):
    frame = pd.DataFrame({"timestamp": 1.7e9 + 0.2 * np.arange(50), "workload_type": "idle",
                          "cpu_util_overall": 50.0, "cpu_util_core_0": np.linspace(0, 100, 50),
                          "cpu_util_core_1": 40.0})  # a 10 s recording at 0.2 s, as `record` writes it
    frame.to_parquet(tmp_path / "rec.parquet")
    assert main(["validate", str(tmp_path / "rec.parquet")]) == EXIT_OK
    out = capsys.readouterr().out
    assert re.search(r"warning +preset_refuses +`train --preset default` would refuse this data: The hold-out .* "
                     r"Presets that can train it: behavioural-quick, quick "
                     r"\(e\.g\. `train --preset behavioural-quick`\)", out)
    assert "`train --preset seed-v3` would refuse" in out and "OK: the data can be used." in out
    assert main(["validate", str(tmp_path / "rec.parquet"), "--preset", "default"]) == EXIT_INVALID_DATA
    frame.head(5).to_parquet(tmp_path / "rec.parquet")  # too short for every preset: the default's refusal
    assert main(["validate", str(tmp_path / "rec.parquet")]) == EXIT_INVALID_DATA
    assert re.search(r"cannot_train +Training would refuse this data: .*30", capsys.readouterr().out)


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
    assert listing.splitlines()[0].split()[3] == "kind" and listing.splitlines()[1].split()[3] == "reconstruction"
    run_id = listing.splitlines()[1].split()[0]
    assert main(["runs", "show", run_id, "--store", str(db)]) == EXIT_OK
    shown = capsys.readouterr().out
    assert "R² hold-out" in shown and shown.splitlines()[1].startswith("Reconstruction twin: reads cpu_util_overall")
    assert main(["runs", "delete", run_id, "--store", str(db)]) == EXIT_OK
    assert main(["runs", "show", run_id, "--store", str(db)]) == EXIT_ERROR
    assert "No run" in capsys.readouterr().err


# Bad configuration values: checked before any data is read (the data path here does not even exist), each one
# error line naming the flag or the file and the field's JSON path, exit 1.
@pytest.mark.parametrize("flags, message", [
    (["--folds", "5000"], r"^error: --folds: cross-validation needs at least 2 folds and at most 100 .*, got 5000 "
                          r"\(the configuration's stack\.cv\.n_splits\)$"),
    (["--folds", "2.5"], r"^error: --folds: .*, got 2\.5 "),
    (["--test-fraction", "nan"], r"^error: --test-fraction: must be a number strictly between 0 and 1, got NaN "),
    (["--test-fraction", "0,2"], r"^error: --test-fraction: .*, got '0,2' \(text\) "),
    (["--n-jobs", "0"], r"^error: --n-jobs: n_jobs must be a whole number of parallel fits from 1 to 256"),
    (["--gap", "-5"], r"^error: --gap: a purge gap cannot be negative"),
    (["--test-sessions", "1", "x"], r"^error: --test-sessions: session ids are whole numbers .*, got 'x' \(text\) "
                                    r"\(the configuration's split\.test_sessions\[1\]\)$"),
    (["--target", ""], r"^error: --target: must be the name of a core column"),
])
def test_a_bad_flag_value_is_one_line_and_exit_1(tmp_path, capsys, flags, message):
    assert main(["train", str(tmp_path / "no-data"), "--quiet", *flags]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert re.match(message, err.strip())


def test_a_flag_argparse_refuses_is_one_line_and_exit_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["train", str(tmp_path), "--split", "sideways"])
    assert stopped.value.code == EXIT_ERROR
    err = capsys.readouterr().err
    assert re.match(r"^error: argument --split: invalid choice: 'sideways'.*--help", err) and err.count("\n") == 1


def _quick_document() -> dict:
    return json.loads(get_preset("quick").to_json())


def _edited(path: tuple, value) -> str:
    document = _quick_document()
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return json.dumps(document)


@pytest.mark.parametrize("text, message", [
    (_edited(("name",), None), r"name: must be non-empty text of at most 200 characters, got null$"),
    (_edited(("split", "test_fraction"), "0.2"), r"split\.test_fraction: must be a number strictly between 0 and 1, "
                                                 r"got '0\.2' \(text\)$"),
    (_edited(("seed",), "42"), r"seed: must be a whole number from 0 to 4,294,967,295, got '42' \(text\)$"),
    (_edited(("feature_sets", 0, "overall_windows"), [2.5]), r"feature_sets\[0\]\.overall_windows\[0\]: rolling "
                                                             r"windows must be at least 2 rows"),
    (_edited(("feature_sets", 0, "overall_lags"), 1_000_000_000), r"feature_sets\[0\]\.overall_lags: .*, got "
                                                                  r"1000000000$"),
    (_edited(("stack", "cv", "n_splits"), 5.0), r"stack\.cv\.n_splits: .*, got 5\.0$"),
    (_edited(("stack", "layers", 0, "models", 0, "params", "learning_rate"), "NaN").replace('"NaN"', "NaN"),
     r"stack\.layers\[0\]\.models\[0\]\.params\.learning_rate: must be a finite number from 0\.001 to 1, got NaN$"),
    ('{"name": ' + "[" * 100_000 + "]" * 100_000 + "}", r"nested too deeply"),
    ('{"name": "' + "x" * 1_200_000 + '"}', r"larger than 1,000,000 bytes"),
])
def test_a_bad_config_file_is_one_line_and_exit_1_before_the_store_is_touched(tmp_path, capsys, text, message):
    config_file = tmp_path / "bad.json"
    config_file.write_text(text)
    db = tmp_path / "runs.sqlite"
    assert main(["train", str(tmp_path / "no-data"), "--config", str(config_file), "--store", str(db)]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {config_file}: ")
    assert re.search(message, err)
    assert not db.exists()


def test_a_bad_config_value_in_a_real_process_prints_no_traceback(tmp_path):
    (tmp_path / "bad.json").write_text(_edited(("stack", "cv", "n_splits"), 5000))
    done = _run("train", str(tmp_path / "no-data"), "--config", str(tmp_path / "bad.json"))
    assert done.returncode == EXIT_ERROR
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "stack.cv.n_splits" in done.stderr


def test_a_run_kept_before_kinds_is_reported_as_a_reconstruction_twin():
    from twin_core.cli import format_report
    metrics = {"run": "old", "target": "cpu_util_core_0", "rows": {"train": 10, "gap": 0, "test": 5},
               "split": {"description": "tail", "cv": {"description": "blocked"}}, "models": [], "baselines": {},
               "layer_gain": [], "best": {"selected_by": "oof", "layer": 1, "name": "m", "r2_holdout": 0.5},
               "seconds": {}, "notes": []}
    assert format_report(metrics).splitlines()[1].startswith("Reconstruction twin (kept before runs recorded")


@pytest.mark.parametrize("command", [["train"], ["sweep", "--grid", str(REPO / "examples" / "sweep_quick.json")],
                                     ["fleet"]])
def test_out_on_a_file_is_refused_before_any_data_is_read(tmp_path, capsys, command):
    (tmp_path / "taken").write_text("mine")
    args = [command[0], str(tmp_path / "no-data"), *command[1:], "--out", str(tmp_path / "taken"), "--quiet"]
    assert main(args) == EXIT_ERROR
    assert re.match(r"^error: --out: '.*taken' is a file, not a folder", capsys.readouterr().err)
    assert (tmp_path / "taken").read_text() == "mine"
