"""The built-in demo telemetry generator (twin_core.demo)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from twin_core.cli import main
from twin_core.demo import (
    ANOMALY_LABELS,
    ANOMALY_SAMPLES,
    FLEET_BURSTY,
    FLEET_EXTRA_CORES,
    MAX_LABELS_BYTES,
    RESPONSE_GAIN,
    RESPONSE_OFFSETS,
    TIMESTAMP_FORMATS,
    WORKLOADS,
    make_demo_frames,
    make_demo_telemetry,
    read_injected_anomalies,
    write_demo_fleet,
    write_demo_parquet,
)
from twin_core.errors import ConfigError
from twin_core.telemetry import Telemetry, load_telemetry, telemetry_from_frames


def _r2(y: np.ndarray, prediction: np.ndarray) -> float:
    return float(1.0 - np.sum((y - prediction) ** 2) / np.sum((y - y.mean()) ** 2))


def _identity(telemetry: Telemetry) -> np.ndarray:
    """core_0 ≈ N·overall − Σ other cores, clipped to 0..100."""
    frame = telemetry.frame
    estimate = telemetry.n_cores * frame["cpu_util_overall"] - frame[list(telemetry.other_cores)].sum(axis=1)
    return estimate.clip(0, 100).to_numpy()


def test_same_seed_same_frames_other_seed_different() -> None:
    first, again = make_demo_frames(rows=900, seed=3), make_demo_frames(rows=900, seed=3)
    assert [name for name, _ in first] == [name for name, _ in again]
    for (_, a), (_, b) in zip(first, again):
        assert_frame_equal(a, b)
    other = make_demo_frames(rows=900, seed=4)
    assert not first[0][1].equals(other[0][1])


@pytest.mark.parametrize("cores", [2, 32])
def test_core_counts_and_value_ranges(cores: int) -> None:
    frames = make_demo_frames(rows=1200, cores=cores, sessions=3, seed=1)
    telemetry = telemetry_from_frames(frames)
    assert telemetry.n_cores == cores and telemetry.report.ok
    values = telemetry.frame[["cpu_util_overall", *telemetry.core_columns]].to_numpy()
    assert values.min() >= 0.0 and values.max() <= 100.0
    assert np.allclose(values, np.round(values, 1))
    assert telemetry.frame[list(telemetry.core_columns)].std().gt(0).sum() >= cores // 2


def test_layout_sessions_and_workloads(demo_telemetry: Telemetry) -> None:
    frames = make_demo_frames(rows=1200, cores=8, sessions=7, seed=0)
    assert [name for name, _ in frames][:2] == ["cpu_bound_00.parquet", "io_bound_01.parquet"]
    assert [f["workload_type"].iloc[0] for _, f in frames] == [*WORKLOADS, WORKLOADS[0]]
    assert sum(len(f) for _, f in frames) == 1200
    assert list(frames[0][1].columns) == ["timestamp", "cpu_util_overall", *[f"cpu_util_core_{c}" for c in range(8)],
                                          "cpu_freq_current_mhz", "workload_type"]
    sessions = demo_telemetry.sessions()
    assert demo_telemetry.n_sessions == 4 and sessions["rows"].sum() == 1200
    gaps = sessions["start"].iloc[1:].to_numpy() - sessions["end"].iloc[:-1].to_numpy()
    assert (gaps >= 60).all() and (gaps <= 300).all()
    assert demo_telemetry.sampling_interval == pytest.approx(0.1, rel=0.02)
    assert demo_telemetry.extra_columns == ("cpu_freq_current_mhz",)


def test_identity_recovers_core0_only_partly() -> None:
    telemetry = make_demo_telemetry(rows=6000, seed=0)
    y = telemetry.frame["cpu_util_core_0"].to_numpy()
    r2 = _r2(y, _identity(telemetry))
    assert 0.7 < r2 < 0.95


def test_history_improves_on_the_identity() -> None:
    telemetry = make_demo_telemetry(rows=6000, seed=0)
    frame = telemetry.frame
    grouped = frame.groupby("session")
    others = list(telemetry.other_cores)
    features = pd.DataFrame({
        "identity": _identity(telemetry),
        "overall_lag1": grouped["cpu_util_overall"].shift(1),
        "others_lag1": grouped[others].shift(1).sum(axis=1, min_count=1),
    }).dropna()
    y = frame.loc[features.index, "cpu_util_core_0"].to_numpy()
    design = np.c_[features.to_numpy(), np.ones(len(features))]
    fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert _r2(y, fitted) > _r2(y, features["identity"].to_numpy()) + 0.03


@pytest.mark.parametrize("timestamp_format", TIMESTAMP_FORMATS)
def test_timestamp_formats_load_to_the_same_data(timestamp_format: str, demo_telemetry: Telemetry) -> None:
    frames = make_demo_frames(rows=1200, cores=8, sessions=4, seed=7, timestamp_format=timestamp_format)
    telemetry = telemetry_from_frames(frames)
    assert telemetry.report.ok
    assert_frame_equal(telemetry.frame, demo_telemetry.frame)
    assert telemetry.fingerprint == demo_telemetry.fingerprint


def test_write_demo_parquet_round_trips(tmp_path: Path) -> None:
    paths = write_demo_parquet(tmp_path / "out", rows=600, cores=4, sessions=3, seed=2)
    assert [p.name for p in paths] == ["cpu_bound_00.parquet", "io_bound_01.parquet", "memory_bound_02.parquet"]
    assert load_telemetry(paths).fingerprint == make_demo_telemetry(rows=600, cores=4, sessions=3, seed=2).fingerprint


def test_demo_data_command_writes_short_five_second_recordings(tmp_path: Path) -> None:
    assert main(["demo-data", str(tmp_path), "--rows", "660", "--sessions", "12", "--cores", "4",
                 "--interval", "5"]) == 0
    telemetry = load_telemetry(tmp_path)
    assert telemetry.sampling_interval == pytest.approx(5.0, rel=0.02) and telemetry.n_cores == 4
    assert telemetry.n_sessions == 12 and telemetry.sessions()["rows"].between(45, 70).all()


def test_any_target_core_can_be_chosen() -> None:
    telemetry = make_demo_telemetry(rows=600, cores=4, sessions=2, target="cpu_util_core_3")
    assert telemetry.target == "cpu_util_core_3" and len(telemetry.other_cores) == 3


def test_without_the_response_option_the_demo_keeps_its_numbers() -> None:
    frame = make_demo_frames(rows=12, cores=2, sessions=1, seed=0)[0][1]
    assert frame["cpu_util_core_1"].head(4).tolist() == [83.3, 81.8, 88.9, 77.8]  # pinned before the option existed
    np.testing.assert_allclose(frame["cpu_util_overall"].head(4), [88.0, 90.8, 88.0, 90.7], atol=1e-4)


def test_the_response_changes_only_core_0_and_what_follows_it() -> None:
    plain = make_demo_frames(rows=900, cores=4, sessions=3, seed=5)
    responding = make_demo_frames(rows=900, cores=4, sessions=3, seed=5, response=True)
    assert [name for name, _ in plain] == [name for name, _ in responding]
    follows = ["cpu_util_core_0", "cpu_util_overall", "cpu_freq_current_mhz"]  # frequency rises with overall
    for (_, before), (_, after) in zip(plain, responding):
        assert_frame_equal(after.drop(columns=follows), before.drop(columns=follows))
        assert (after["cpu_util_core_0"] != before["cpu_util_core_0"]).mean() > 0.5


def test_core_0_follows_the_documented_response_of_the_other_cores_and_the_workload() -> None:
    telemetry = make_demo_telemetry(rows=6000, seed=0, response=True)
    frame = telemetry.frame
    onehot = pd.get_dummies(frame["workload_type"], dtype=float)
    design = np.c_[frame[list(telemetry.other_cores)].mean(axis=1), onehot.to_numpy()]
    y = frame["cpu_util_core_0"].to_numpy()
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert coefficients[0] == pytest.approx(RESPONSE_GAIN, abs=0.04)
    offsets = dict(zip(onehot.columns, coefficients[1:]))
    assert offsets == pytest.approx(RESPONSE_OFFSETS, abs=1.5)
    residual = y - design @ coefficients
    assert 2.0 < residual.std() < 5.0  # the documented noise, plus the tick rounding of every core


def test_with_the_response_overall_still_measures_all_cores() -> None:
    def identity_error(telemetry: Telemetry) -> pd.Series:
        frame = telemetry.frame
        return telemetry.n_cores * frame["cpu_util_overall"] - frame[list(telemetry.core_columns)].sum(axis=1)

    plain = identity_error(make_demo_telemetry(rows=3000, seed=0))
    responding = identity_error(make_demo_telemetry(rows=3000, seed=0, response=True))
    assert responding.std() == pytest.approx(plain.std(), rel=0.1)
    assert responding.abs().mean() == pytest.approx(plain.abs().mean(), rel=0.1)


def test_demo_data_command_writes_the_response_on_request(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo-data", str(tmp_path), "--rows", "600", "--cores", "4", "--sessions", "2", "--response"]) == 0
    assert "known response" in capsys.readouterr().out
    expected = make_demo_telemetry(rows=600, cores=4, sessions=2, response=True)
    assert load_telemetry(tmp_path).fingerprint == expected.fingerprint
    assert expected.fingerprint != make_demo_telemetry(rows=600, cores=4, sessions=2).fingerprint


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cores": 1}, "between 2 and 128"),
        ({"cores": 129}, "between 2 and 128"),
        ({"rows": 5, "sessions": 3}, "2 rows per session"),
        ({"interval_s": 0.0}, "at least 0.01 s"),
        ({"timestamp_format": "unix"}, "Unknown timestamp_format"),
    ],
)
def test_bad_arguments_are_config_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_demo_frames(**kwargs)


def test_a_demo_fleet_has_one_folder_per_host_each_its_own_machine(tmp_path: Path) -> None:
    folders = write_demo_fleet(tmp_path, 4, rows=600, cores=4, sessions=3, seed=1)
    assert [f.name for f in folders] == ["host-01", "host-02", "host-03", "host-04"]
    hosts = {f.name: load_telemetry(f) for f in folders}
    assert {name: t.n_cores for name, t in hosts.items()} == {
        "host-01": 4, "host-02": 4 + FLEET_EXTRA_CORES, "host-03": 4, "host-04": 4 + FLEET_EXTRA_CORES}
    assert len({t.fingerprint for t in hosts.values()}) == 4  # every host's own seed: no two alike
    assert set(hosts["host-03"].frame["workload_type"]) == set(FLEET_BURSTY)
    assert set(hosts["host-01"].frame["workload_type"]) == set(WORKLOADS[:3])
    assert all(len(t.frame) == 600 and t.n_sessions == 3 for t in hosts.values())
    again = write_demo_fleet(tmp_path / "again", 4, rows=600, cores=4, sessions=3, seed=1)
    assert [load_telemetry(f).fingerprint for f in again] == [t.fingerprint for t in hosts.values()]


def test_demo_data_command_writes_a_fleet_with_hosts_and_its_files_without(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    assert main(["demo-data", str(tmp_path / "fleet"), "--hosts", "2", "--rows", "600", "--cores", "4"]) == 0
    assert "demo fleet of 2 host(s)" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "fleet").iterdir()) == ["host-01", "host-02"]
    assert main(["demo-data", str(tmp_path / "one"), "--rows", "600", "--cores", "4"]) == 0
    assert all(p.suffix == ".parquet" for p in (tmp_path / "one").iterdir())
    assert load_telemetry(tmp_path / "one").fingerprint == make_demo_telemetry(rows=600, cores=4).fingerprint


@pytest.mark.parametrize("hosts, match", [(0, "1 to 999 hosts"), (1000, "1 to 999 hosts")])
def test_a_fleet_of_no_host_or_too_many_is_a_config_error(tmp_path: Path, hosts: int, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        write_demo_fleet(tmp_path, hosts)
    assert not any(tmp_path.iterdir())


def test_unknown_demo_workloads_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Demo workloads must be some of"):
        make_demo_frames(rows=600, workloads=("gaming",))


def test_injected_anomalies_raise_core_0_and_overall_only_where_labelled(tmp_path: Path) -> None:
    write_demo_parquet(tmp_path, rows=1500, cores=4, sessions=3, seed=5, response=True, anomalies=5,
                       anomaly_tail=0.5)
    labels = read_injected_anomalies(tmp_path)
    assert len(labels) == 5 and [a.file for a in labels].count("cpu_bound_00.parquet") == 2
    follows = ["cpu_util_core_0", "cpu_util_overall", "cpu_freq_current_mhz"]
    for name, clean in make_demo_frames(rows=1500, cores=4, sessions=3, seed=5, response=True):
        frame = pd.read_parquet(tmp_path / name)
        assert_frame_equal(frame.drop(columns=follows), clean.drop(columns=follows))  # nothing else changes
        raised = frame["cpu_util_core_0"] - clean["cpu_util_core_0"]
        inside = np.zeros(len(frame), dtype=bool)
        for label in (a for a in labels if a.file == name):
            span = frame["timestamp"].between(label.start, label.end).to_numpy()
            assert span.sum() == label.samples and ANOMALY_SAMPLES[0] <= label.samples <= ANOMALY_SAMPLES[1]
            assert not span[:len(frame) // 2].any()  # in the session's last half (anomaly_tail=0.5)
            assert raised[span].mean() > 20  # a burst of 30-50 points, less where it met 100 %
            inside |= span
        assert (raised[~inside] == 0).all()
        overall_up = frame["cpu_util_overall"] - clean["cpu_util_overall"]
        assert (overall_up[inside] > 0).mean() > 0.9  # overall measures the burst too (N·overall − Σ others sees it)


def test_the_loader_skips_the_labels_and_plain_demo_data_has_none(tmp_path: Path) -> None:
    write_demo_parquet(tmp_path / "with", rows=600, cores=4, sessions=2, seed=2, anomalies=2)
    assert (tmp_path / "with" / ANOMALY_LABELS).is_file()
    assert load_telemetry(tmp_path / "with").n_sessions == 2
    write_demo_parquet(tmp_path / "plain", rows=600, cores=4, sessions=2, seed=2)
    assert read_injected_anomalies(tmp_path / "plain") is None
    (tmp_path / "plain" / ANOMALY_LABELS).write_text('{"anomalies": [{"file": "x"}]}')
    with pytest.raises(ConfigError, match=r"anomaly labels in .* cannot be read \(a label or the file has no "
                                          r"'start' field\)"):
        read_injected_anomalies(tmp_path / "plain")
    (tmp_path / "plain" / ANOMALY_LABELS).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="anomaly labels in .* cannot be read"):
        read_injected_anomalies(tmp_path / "plain")
    with (tmp_path / "plain" / ANOMALY_LABELS).open("wb") as file:
        file.truncate(MAX_LABELS_BYTES + 1)
    with pytest.raises(ConfigError, match=r"cannot be read \(larger than 16,777,216 bytes\)"):
        read_injected_anomalies(tmp_path / "plain")


@pytest.mark.parametrize("anomalies, tail, match", [
    (-1, 1.0, "cannot be negative"), (3, 0.0, r"must be in \(0, 1\]"), (40, 0.2, "do not fit in 2 sessions")])
def test_impossible_anomaly_requests_are_config_errors(tmp_path: Path, anomalies: int, tail: float,
                                                       match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        write_demo_parquet(tmp_path / "out", rows=600, cores=4, sessions=2, anomalies=anomalies, anomaly_tail=tail)
    assert not (tmp_path / "out").exists()  # refused before its folder is made: nothing half-written


def test_demo_data_command_injects_labelled_anomalies(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo-data", str(tmp_path), "--rows", "900", "--cores", "4", "--sessions", "3",
                 "--anomalies", "3", "--anomaly-tail", "0.5"]) == 0
    assert "with 3 labelled anomalies" in capsys.readouterr().out
    assert len(read_injected_anomalies(tmp_path)) == 3
    assert main(["demo-data", str(tmp_path / "fleet"), "--hosts", "2", "--anomalies", "3"]) == 1
    assert "not a fleet" in capsys.readouterr().err
