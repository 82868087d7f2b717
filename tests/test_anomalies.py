"""Anomaly episodes (twin_core.anomalies): where the actual leaves the band, ranked, and scored against labels."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_core.anomalies import (best_key, EPISODE_COLUMNS, anomaly_column, band_frame, find_episodes, label_frame,
                                 score_episodes)
from twin_core.cli import main
from twin_core.demo import InjectedAnomaly, read_injected_anomalies, write_demo_parquet
from twin_core.errors import ConfigError, MissingColumnError
from twin_core.pipeline import TrainResult, train_twin
from twin_core.presets import get_preset
from twin_core.runs import save_run_outputs
from twin_core.store import RunStore
from twin_core.telemetry import load_telemetry


def _band(actual: list[float], sessions: list[int] | None = None, times: list[float] | None = None,
          rows: list[int] | None = None) -> pd.DataFrame:
    """A band frame with the band 40–60 around a prediction of 50, one sample every 0.1 s unless told."""
    n = len(actual)
    return pd.DataFrame({
        "row": np.arange(n) if rows is None else rows,
        "timestamp": 1000.0 + 0.1 * np.arange(n) if times is None else times,
        "session": np.zeros(n, dtype=int) if sessions is None else sessions,
        "workload_type": "cpu_bound", "actual": actual, "predicted": 50.0, "lower": 40.0, "upper": 60.0})


def test_an_episode_needs_min_samples_consecutive_samples_on_one_side() -> None:
    actual = [50] * 5 + [70] * 4 + [50] * 5 + [70] * 5 + [50] * 3 + [70, 30, 70, 30, 70] + [50] * 3
    episodes = find_episodes(_band(actual), min_samples=5)
    assert list(episodes.columns) == list(EPISODE_COLUMNS)
    assert episodes[["first_row", "last_row", "samples", "direction"]].values.tolist() == [[14, 18, 5, "above"]]
    assert len(find_episodes(_band(actual), min_samples=4)) == 2  # the run of 4 counts now, the alternating never
    assert len(find_episodes(_band(actual), min_samples=1)) == 2 + 5


def test_episodes_never_cross_a_session_a_pause_or_rows_that_are_not_neighbours() -> None:
    actual = [70.0] * 12
    by_session = find_episodes(_band(actual, sessions=[0] * 6 + [1] * 6), min_samples=4)
    assert sorted(by_session["samples"]) == [6, 6] and set(by_session["session"]) == {0, 1}
    times = list(1000.0 + 0.1 * np.arange(6)) + list(1010.0 + 0.1 * np.arange(6))  # a 10 s pause, same session
    assert sorted(find_episodes(_band(actual, times=times), min_samples=4)["samples"]) == [6, 6]
    assert find_episodes(_band(actual, times=times), min_samples=7).empty
    rows = list(range(6)) + list(range(100, 106))  # hold-out rows that are not telemetry neighbours
    assert sorted(find_episodes(_band(actual, rows=rows), min_samples=4)["samples"]) == [6, 6]
    assert len(find_episodes(_band(actual), min_samples=4)) == 1


def test_direction_change_splits_an_episode_and_sizes_are_points_beyond_the_band() -> None:
    episodes = find_episodes(_band([50, 65, 70, 80, 30, 35, 20, 50]), min_samples=3)
    assert episodes.set_index("direction")[["peak_excess", "total_excess", "samples"]].to_dict("index") == {
        "above": {"peak_excess": 20.0, "total_excess": 35.0, "samples": 3},
        "below": {"peak_excess": 20.0, "total_excess": 35.0, "samples": 3}}
    assert episodes["duration_s"].tolist() == pytest.approx([0.2, 0.2])


def test_ranked_by_summed_excess_then_peak() -> None:
    actual = [50] * 3 + [62] * 10 + [50] * 3 + [90] * 3 + [50] * 3 + [61] * 5 + [50] * 3
    episodes = find_episodes(_band(actual), min_samples=3)
    assert episodes["rank"].tolist() == [1, 2, 3]
    assert episodes["total_excess"].tolist() == pytest.approx([90.0, 20.0, 5.0])  # 3×30, 10×2, 5×1
    assert episodes["first_row"].tolist() == [16, 3, 22]


def test_the_anomaly_column_marks_exactly_the_rows_of_episodes_in_the_predictions_order() -> None:
    actual = [50] * 2 + [70] * 3 + [50] + [70] * 2 + [20] * 4
    predictions = _band(actual).rename(columns={"predicted": "L1:m", "lower": "lower L1:m", "upper": "upper L1:m"})
    shuffled = predictions.sample(frac=1.0, random_state=0)
    column = anomaly_column(shuffled, "L1:m", min_samples=3)
    assert column.index.equals(shuffled.index) and column.dtype == bool
    assert column.sort_index().tolist() == [False] * 2 + [True] * 3 + [False] * 3 + [True] * 4
    assert not anomaly_column(predictions.assign(actual=50.0), "L1:m", min_samples=1).any()
    with pytest.raises(ConfigError, match="anomalies.min_samples: An anomaly episode needs at least 1 sample"):
        anomaly_column(predictions, "L1:m", min_samples=0)


def test_band_frame_renames_a_models_band_and_says_when_there_is_none() -> None:
    predictions = _band([55.0, 45.0]).rename(columns={"predicted": "L1:lgbm", "lower": "lower L1:lgbm",
                                                      "upper": "upper L1:lgbm"}).iloc[::-1]
    frame = band_frame(predictions, "L1:lgbm")
    assert frame["row"].tolist() == [0, 1] and list(frame.columns[-3:]) == ["predicted", "lower", "upper"]
    with pytest.raises(MissingColumnError, match="no prediction band for that model"):
        band_frame(predictions.drop(columns=["lower L1:lgbm"]), "L1:lgbm")
    with pytest.raises(MissingColumnError, match=r"no 'row', .* column: they are not a run's hold-out predictions"):
        band_frame(predictions.drop(columns=["row", "actual"]), "L1:lgbm")  # telemetry, say, not predictions
    with pytest.raises(MissingColumnError, match=r"no 'L2:x', .* column: they are not a run's .* with model 'L2:x'"):
        band_frame(predictions, "L2:x")


def test_precision_and_recall_against_labels_in_the_same_session() -> None:
    frame = _band([50.0] * 40, sessions=[0] * 20 + [1] * 20)
    t = frame["timestamp"].to_numpy()
    labels = label_frame([InjectedAnomaly("a", t[2], t[6], 5, 40.0), InjectedAnomaly("b", t[22], t[26], 5, 40.0),
                          InjectedAnomaly("c", 5000.0, 5001.0, 10, 40.0)], frame)
    assert labels["session"].tolist()[:2] == [0, 1] and labels["in_band"].tolist() == [True, True, False]
    episodes = pd.DataFrame({"session": [0, 0, 1], "start": [t[5], t[10], t[27]], "end": [t[8], t[12], t[30]]})
    # the first overlaps label a; the second overlaps nothing; the third starts just after label b ends
    score = score_episodes(episodes, labels[labels["in_band"]])
    assert score == {"episodes": 3, "labels": 2, "true_episodes": 1, "found_labels": 1,
                     "precision": pytest.approx(1 / 3), "recall": 0.5}
    elsewhere = episodes.assign(session=[1, 1, 1])  # the same times in another session match nothing
    assert score_episodes(elsewhere.iloc[:1], labels.iloc[:1])["true_episodes"] == 0
    empty = score_episodes(episodes.iloc[:0], labels.iloc[:0])
    assert np.isnan(empty["precision"]) and np.isnan(empty["recall"])


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, pd.DataFrame, Path]:
    """A behavioural-quick twin trained on response demo data with 10 labelled bursts, all placed where the
    per-session 20 % hold-out lies (the last 18 % of every session), the labels placed in its sessions, and the
    data's folder."""
    folder = tmp_path_factory.mktemp("injected")
    write_demo_parquet(folder, rows=3000, cores=4, sessions=5, seed=0, response=True, anomalies=10,
                       anomaly_tail=0.18)
    result = train_twin(load_telemetry(folder), get_preset("behavioural-quick"))
    frame = band_frame(result.evaluation.predictions, result.evaluation.best["key"])
    return result, label_frame(read_injected_anomalies(folder), frame), folder


def test_a_behavioural_twin_finds_the_injected_anomalies_of_its_hold_out(injected) -> None:
    result, labels, _ = injected
    assert labels["in_band"].all() and len(labels) == 10  # every injected burst lies in the hold-out
    frame = band_frame(result.evaluation.predictions, result.evaluation.best["key"])
    score = score_episodes(find_episodes(frame, result.config.anomalies.min_samples), labels)
    assert score["found_labels"] >= 8 and score["precision"] >= 0.8, score


def test_predictions_parquet_marks_the_rows_of_the_best_models_episodes(injected, tmp_path) -> None:
    result, labels, _ = injected
    save_run_outputs(result, tmp_path)
    saved = pd.read_parquet(tmp_path / "predictions.parquet")
    assert saved["anomaly"].dtype == bool
    episodes = find_episodes(band_frame(saved.rename(columns={"lower": "lower best", "upper": "upper best",
                                                              result.evaluation.best["key"]: "best"}), "best"),
                             result.config.anomalies.min_samples)
    assert saved["anomaly"].sum() == episodes["samples"].sum() > 0
    in_labels = np.zeros(len(saved), dtype=bool)
    for label in labels.itertuples():
        in_labels |= saved["timestamp"].between(label.start, label.end).to_numpy()
    assert (saved["anomaly"] & in_labels).sum() / saved["anomaly"].sum() > 0.8  # marked rows are mostly the bursts


def test_the_anomalies_command_ranks_a_run_folders_episodes_and_scores_them_against_labels(
        injected, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    result, _, folder = injected
    save_run_outputs(result, tmp_path / "run")
    (tmp_path / "run" / "config.json").write_text(result.config.to_json().replace('"min_samples": 5',
                                                                                  '"min_samples": 6'))
    assert main(["anomalies", str(tmp_path / "run"), "--labels", str(folder), "--top", "3"]) == 0
    out = capsys.readouterr().out
    frame = band_frame(result.evaluation.predictions, best_key(result.metrics))
    expected = find_episodes(frame, 6)  # the run's configured min_samples
    assert out.startswith(f"{len(expected)} episode(s) of 6+ samples outside the band of ")
    assert f"… and {len(expected) - 3} smaller" in out
    assert "Against the 10 labelled anomalies in the hold-out: 10 found (recall 1.00)" in out
    assert main(["anomalies", str(tmp_path / "run"), "--min-samples", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"{len(find_episodes(frame, 1))} episode(s) of 1+ samples")


@pytest.mark.parametrize("arguments, match", [
    (["--min-samples", "0"], "--min-samples must be at least 1"),
    (["--min-samples", "1000000000"], "--min-samples must be at least 1 and at most 10,000"),
    (["--top", "0"], "--top: the episodes printed must be at least 1, got 0"),
    (["--top", "-1"], "--top: the episodes printed must be at least 1, got -1"),
    (["--labels", "."], "holds no anomaly labels"),
    (["--labels", "no-such-folder"], "--labels: 'no-such-folder' is not a folder; pass the folder `demo-data"),
])
def test_the_anomalies_command_refuses_in_one_line(injected, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   arguments: list[str], match: str) -> None:
    save_run_outputs(injected[0], tmp_path)
    assert main(["anomalies", str(tmp_path), *arguments]) == 1
    assert match in capsys.readouterr().err
    assert main(["anomalies", str(tmp_path / "nowhere")]) == 1
    assert "is not a run folder" in capsys.readouterr().err


def test_the_anomalies_command_reads_a_kept_run_from_the_store(injected, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    result = injected[0]
    run_id = RunStore(tmp_path / "studio.sqlite", create=True).save(result, "with bursts")
    assert main(["anomalies", run_id, "--store", str(tmp_path / "studio.sqlite")]) == 0
    expected = find_episodes(band_frame(result.evaluation.predictions, best_key(result.metrics)), 5)
    assert capsys.readouterr().out.startswith(f"{len(expected)} episode(s) of 5+ samples outside the band of ")


@pytest.mark.parametrize("name, content, match", [
    ("predictions.parquet", b"PAR1 cut short", r"The run's predictions\.parquet in '.*' cannot be read \("),
    ("metrics.json", b"{oops", r"The run's metrics\.json in '.*' cannot be read \(Expecting property name"),
    ("metrics.json", b"[1, 2]", r"The run's metrics\.json in '.*' cannot be read \(not a JSON object\)"),
    ("metrics.json", b"{}", r"The run's metrics name no best model"),
    ("config.json", b'{"x": 1}', r"The run's config\.json in '.*' cannot be read \(name: is required"),
])
def test_the_anomalies_command_names_a_damaged_file_of_a_run_folder(injected, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture, name: str,
                                                                     content: bytes, match: str) -> None:
    save_run_outputs(injected[0], tmp_path)
    (tmp_path / name).write_bytes(content)
    assert main(["anomalies", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(match, err), err



@pytest.mark.parametrize("frame, min_samples, error, match", [
    (pd.DataFrame(), 5, MissingColumnError, r"The band frame has no 'row', .* column: pass band_frame"),
    (_band([70.0] * 6).drop(columns="upper"), 5, MissingColumnError, r"no 'upper' column"),
    (_band([70.0] * 6), "3", ConfigError, r"^anomalies\.min_samples: .*\(a whole number\); min_samples is '3'"),
    (_band([70.0] * 6), None, ConfigError, r"min_samples is None"),
    (_band([70.0] * 6), 1.5, ConfigError, r"min_samples is 1\.5"),
])
def test_find_episodes_refuses_what_is_not_a_band_frame_or_a_sample_count(frame, min_samples, error, match) -> None:
    with pytest.raises(error, match=match):
        find_episodes(frame, min_samples)


def test_find_episodes_on_empty_one_row_and_unknown_bands() -> None:
    assert find_episodes(_band([]).astype({"actual": float})).empty
    assert find_episodes(_band([70.0]), 1)["samples"].tolist() == [1]
    assert find_episodes(_band([70.0] * 6).assign(lower=np.nan, upper=np.nan), 1).empty  # no band: no episode



def test_the_anomalies_command_says_when_the_best_model_has_no_band(injected, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    save_run_outputs(injected[0], tmp_path)
    key = best_key(injected[0].metrics)
    saved = pd.read_parquet(tmp_path / "predictions.parquet")
    saved[[f"lower {key}", f"upper {key}"]] = np.nan  # as a model whose out-of-fold rows were too few to calibrate
    saved.to_parquet(tmp_path / "predictions.parquet")
    assert main(["anomalies", str(tmp_path)]) == 1
    assert "has no prediction band in this run" in capsys.readouterr().err
