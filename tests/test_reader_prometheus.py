"""Prometheus readers (twin_core.telemetry.readers.prometheus): real exports recorded together with psutil, and
hand-made files for resets, missing cpus, NaN, and the answers Prometheus gives to queries that do not fit."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_core.errors import (
    AmbiguousColumnError,
    BadTimestampError,
    EmptyTelemetryError,
    NonNumericError,
    NotParquetError,
)
from twin_core.telemetry import load_telemetry, validate_sources
from twin_core.telemetry.readers import prometheus

FIXTURES = Path(__file__).parent / "fixtures" / "collectors"
T0 = 1_795_900_000.0
MODES = ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user")


def _counter_series(busy_rates: dict[int, list[float]], instance: str = "host-a:9100") -> list[dict]:
    """node_cpu_seconds_total series per cpu and mode, 1 s apart, the cpu busy (user) at the given shares and
    the rest of each second split 3:1 between idle and iowait (both not busy)."""
    series = []
    for cpu, rates in busy_rates.items():
        user = np.r_[100.0, 100.0 + np.cumsum(rates[1:])]
        idle = np.r_[500.0, 500.0 + np.cumsum(0.75 * (1.0 - np.asarray(rates[1:])))]
        iowait = np.r_[20.0, 20.0 + np.cumsum(0.25 * (1.0 - np.asarray(rates[1:])))]
        counters = {"user": user, "idle": idle, "iowait": iowait}
        for mode in MODES:
            values = counters.get(mode, np.full(len(rates), 3.0))
            series.append({"metric": {"__name__": "node_cpu_seconds_total", "cpu": str(cpu), "instance": instance,
                                      "job": "node", "mode": mode},
                           "values": [[T0 + i, f"{v:.2f}"] for i, v in enumerate(values)]})
    return series


def _matrix(series: list[dict]) -> str:
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": series}})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _fixture(name: str) -> Path:
    return FIXTURES / name


# --- the real exports --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "prometheus_query_range_counters.json",
    "prometheus_query_range_util.json",
    "prometheus_query_range_util_irate.json",
    "prometheus_federate.txt",
    "node_exporter_scrapes.txt",
    "prometheus_long.csv",
])
def test_real_export_loads_two_cores_of_plausible_utilisation(name):
    telemetry = load_telemetry(_fixture(name))
    frame = telemetry.frame
    assert telemetry.core_columns == ("cpu_util_core_0", "cpu_util_core_1")
    assert len(frame) >= 200 and telemetry.n_sessions == 1
    cores = frame[["cpu_util_core_0", "cpu_util_core_1"]].to_numpy()
    assert cores.min() >= 0.0 and cores.max() <= 100.0
    assert cores.max() - cores.min() > 30.0  # the recording ran phases of load and rest
    assert 0.9 <= float(np.median(np.diff(frame["timestamp"]))) <= 1.1
    # none of these exports has an overall series, so the overall is the mean of the cpus, said as a warning
    assert "overall_computed" in telemetry.report.codes("warning")
    assert telemetry.report.codes("error") == []


def _by_second(frame: pd.DataFrame, window: int = 1) -> pd.DataFrame:
    """The two cores keyed by whole second, averaged over `window` intervals ending there."""
    cores = frame.set_index(frame["timestamp"].round())[["cpu_util_core_0", "cpu_util_core_1"]]
    return cores.rolling(window).mean().dropna()


def _correlations(a: pd.DataFrame, b: pd.DataFrame) -> list[float]:
    both = a.join(b, how="inner", suffixes=("", "_other"))
    assert len(both) >= 200
    return [float(np.corrcoef(both[c], both[f"{c}_other"])[0, 1]) for c in ("cpu_util_core_0", "cpu_util_core_1")]


def test_counters_and_per_second_utilisation_query_agree_per_core_at_matching_seconds():
    counters = load_telemetry(_fixture("prometheus_query_range_counters.json")).frame
    irate = load_telemetry(_fixture("prometheus_query_range_util_irate.json")).frame
    assert min(_correlations(_by_second(counters), _by_second(irate))) >= 0.9


def test_counters_averaged_as_the_rate_query_follow_it():
    """rate(…[5s]) over 1 s scrapes spans five scrapes, i.e. the last four intervals, at the same steps."""
    counters = load_telemetry(_fixture("prometheus_query_range_counters.json")).frame
    rate = load_telemetry(_fixture("prometheus_query_range_util.json")).frame
    assert min(_correlations(_by_second(rate), _by_second(counters, window=4))) >= 0.99


@pytest.mark.parametrize("name", ["prometheus_federate.txt", "node_exporter_scrapes.txt",
                                  "prometheus_query_raw_counters.json"])
def test_scraped_text_and_raw_samples_agree_with_psutil_recorded_at_the_same_time(name):
    ours = load_telemetry(_fixture(name)).frame
    psutil = load_telemetry(_fixture("psutil_wide.csv")).frame
    assert min(_correlations(_by_second(ours), _by_second(psutil))) >= 0.9


def test_federate_fixture_of_four_modes_warns_that_the_total_leaves_modes_out():
    report = validate_sources(_fixture("prometheus_federate.txt"))
    assert "partial_modes" in report.codes("warning")
    assert "not irq, nice, softirq, steal" in next(i.message for i in report.issues if i.code == "partial_modes")


# --- hand-made query_range JSON ----------------------------------------------------------------------------------

def test_counters_give_the_busy_share_of_each_interval(tmp_path):
    path = _write(tmp_path, "c.json", _matrix(_counter_series({0: [0, 0.25, 0.5, 0.75, 1.0], 1: [0, 1, 1, 1, 1]})))
    frame = load_telemetry(path).frame
    np.testing.assert_allclose(frame["cpu_util_core_0"], [25.0, 50.0, 75.0, 100.0], atol=0.01)
    np.testing.assert_allclose(frame["cpu_util_core_1"], [100.0, 100.0, 100.0, 100.0], atol=0.01)
    np.testing.assert_allclose(frame["timestamp"], T0 + np.arange(1, 5))


def test_a_counter_reset_starts_a_new_session_with_a_warning(tmp_path):
    series = _counter_series({0: [0.5] * 8, 1: [0.2] * 8})
    for s in series:  # a reboot after the fourth sample: every counter starts again near zero
        s["values"] = [[t, f"{float(v) - (float(s['values'][3][1]) - 0.5) if i > 3 else float(v):.2f}"]
                       for i, (t, v) in enumerate(s["values"])]
    telemetry = load_telemetry(_write(tmp_path, "reset.json", _matrix(series)))
    assert telemetry.n_sessions == 2
    assert "counter_reset" in telemetry.report.codes("warning")
    assert len(telemetry.frame) == 6  # 7 intervals, the one across the reset left out
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_0"], 50.0, atol=1.5)


def test_a_cpu_missing_from_one_sample_leaves_its_intervals_out(tmp_path):
    series = _counter_series({0: [0.5] * 8, 1: [0.2] * 8})
    for s in series:
        if s["metric"]["cpu"] == "1":
            del s["values"][4]
    telemetry = load_telemetry(_write(tmp_path, "gap.json", _matrix(series)))
    assert "missing_cpus" in telemetry.report.codes("warning")
    assert list(telemetry.frame["timestamp"] - T0) == [1, 2, 3, 6, 7]
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_1"], 20.0, atol=1.5)


def test_utilisation_query_reads_fractions_as_percent_and_leaves_nan_out(tmp_path):
    series = [{"metric": {"cpu": "0"}, "values": [[T0 + i, v] for i, v in enumerate(["0.1", "NaN", "0.3", "0.4"])]},
              {"metric": {"cpu": "1"}, "values": [[T0 + i, v] for i, v in enumerate(["0.5", "0.6", "+Inf", "0.8"])]}]
    telemetry = load_telemetry(_write(tmp_path, "u.json", _matrix(series)))
    assert list(telemetry.frame["timestamp"] - T0) == [0, 3]
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_0"], [10.0, 40.0])
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_1"], [50.0, 80.0])
    warning = next(i.message for i in telemetry.report.warnings if i.code == "fractions_to_percent")
    assert "read as fractions of a cpu (×100)" in warning and "already gives percent" in warning
    message = next(i.message for i in telemetry.report.issues if i.code == "non_finite_samples")
    assert "2 samples are NaN or infinite (first at 2026-11-28 21:06:41 UTC)" in message


def test_utilisation_query_takes_a_series_without_cpu_as_the_overall(tmp_path):
    series = [{"metric": {"cpu": str(c)}, "values": [[T0 + i, str(v)] for i, v in enumerate(vals)]}
              for c, vals in ((0, [10, 20, 30]), (1, [30, 40, 50]))]
    series.append({"metric": {}, "values": [[T0 + i, str(v)] for i, v in enumerate([21, 29, 41])]})
    telemetry = load_telemetry(_write(tmp_path, "o.json", _matrix(series)))
    np.testing.assert_allclose(telemetry.frame["cpu_util_overall"], [21.0, 29.0, 41.0])
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_1"], [30.0, 40.0, 50.0])
    assert "overall_computed" not in telemetry.report.codes()
    assert "fractions_to_percent" not in telemetry.report.codes()


@pytest.mark.parametrize("answer, error, match", [
    ({"status": "error", "errorType": "bad_data", "error": "invalid parameter \"query\": 1:8: parse error"},
     NotParquetError, r"failed query: invalid parameter \"query\": 1:8: parse error"),
    ({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"cpu": "0"}, "value": [T0, "0.5"]}]}}, NotParquetError, r"'vector'.*query_range"),
    ({"status": "success", "data": {"resultType": "matrix", "result": []}}, EmptyTelemetryError, "matched no series"),
    ({"status": "success", "data": {"resultType": "matrix", "result":
        _counter_series({0: [0.5] * 3, 1: [0.5] * 3}) + _counter_series({0: [0.5] * 3}, instance="host-b:9100")}},
     AmbiguousColumnError, r"2 hosts \(instance=host-a:9100; instance=host-b:9100\).*one host per file"),
    ({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"cpu": "0", "mode": "user"}, "values": [[T0, "0.5"]]}]}}, NotParquetError, "per cpu mode"),
])
def test_query_answers_that_hold_no_utilisation_are_one_error(tmp_path, answer, error, match):
    path = _write(tmp_path, "q.json", json.dumps(answer))
    with pytest.raises(error, match=match):
        load_telemetry(path)
    assert len(validate_sources(path).errors) == 1


@pytest.mark.parametrize("result, match", [
    ({"a": 1}, r"its data\.result is dict, where a list of series is expected"),
    (["x"], r'series 1 of data\.result is "x", not an object with metric and values'),
    ([{"metric": "x", "values": [[T0, "1"]]}], r'series 1 has metric "x", where an object of labels is expected'),
], ids=["result_object", "entry_string", "metric_string"])
def test_a_matrix_of_another_shape_is_one_error_saying_what_was_expected(tmp_path, result, match):
    text = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})
    path = _write(tmp_path, "shape.json", text)
    with pytest.raises(NotParquetError, match=match):
        load_telemetry(path)
    assert len(validate_sources(path).errors) == 1


# --- hand-made text exposition ---------------------------------------------------------------------------------

def _scrape(cpu_busy: dict[int, float], second: int, *, stamp: bool, labels: str = "") -> str:
    lines = ["# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.",
             "# TYPE node_cpu_seconds_total counter",
             'node_load1{note="a \\"quoted\\", value}"} 0.5']  # another metric, with a tricky label: ignored
    for cpu, share in cpu_busy.items():
        for mode in MODES:
            value = 100 + share * second if mode == "user" else 500 + (1 - share) * second if mode == "idle" else 3
            ts = f" {int((T0 + second) * 1000)}" if stamp else ""
            lines.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="{mode}"{labels}}} {value}{ts}')
    return "\n".join(lines) + "\n"


def test_federate_output_uses_each_sample_timestamp(tmp_path):
    label = ',instance="h:9100",job="no\\"de, x"'
    text = "".join(_scrape({0: 0.3, 1: 0.9}, s, stamp=True, labels=label) for s in range(5))
    telemetry = load_telemetry(_write(tmp_path, "fed.txt", text))
    np.testing.assert_allclose(telemetry.frame["timestamp"], T0 + np.arange(1, 5))
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_0"], 30.0)
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_1"], 90.0)


def test_metrics_scrapes_take_the_last_scrape_time(tmp_path):
    text = "".join(f"# scrape_time {T0 + 2 * s}\n" + _scrape({0: 0.6, 1: 0.1}, 2 * s, stamp=False)
                   for s in range(4))
    telemetry = load_telemetry(_write(tmp_path, "scrapes.txt", text))
    np.testing.assert_allclose(telemetry.frame["timestamp"], T0 + np.array([2, 4, 6]))
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_0"], 60.0)


@pytest.mark.parametrize("text, error, match", [
    (_scrape({0: 0.5, 1: 0.5}, 0, stamp=False), BadTimestampError, r"line 4: .*no `# scrape_time` line"),
    ("# scrape_time 1795900000\n" + _scrape({0: 0.5, 1: 0.5}, 0, stamp=False) + 'node_cpu_seconds_total{cpu="0",mo\n',
     NotParquetError, r"line 21 is not a valid Prometheus sample"),
    ("# scrape_time 1795900000\n" + 'node_cpu_seconds_total{cpu="0",mode="idle"} many\n', NotParquetError,
     r"line 2 is not a valid Prometheus sample"),
    ("# TYPE node_load1 gauge\nnode_load1 0.5\n", EmptyTelemetryError, "holds no node_cpu_seconds_total sample"),
])
def test_text_that_cannot_be_timed_or_parsed_is_one_error(tmp_path, text, error, match):
    path = _write(tmp_path, "bad.txt", text)
    with pytest.raises(error, match=match):
        load_telemetry(path)
    assert len(validate_sources(path).errors) == 1


def test_a_counter_cut_short_on_the_last_line_is_left_out_not_read(tmp_path):
    full = "".join(f"# scrape_time {T0 + s}\n" + _scrape({0: 0.99, 1: 0.99}, s, stamp=False) for s in range(3))
    cut = full[:full.rstrip("\n").rfind(" ") + 4]  # the last value, '302.99'-like, cut to its first 3 digits
    assert not cut.endswith("\n")
    telemetry = load_telemetry(_write(tmp_path, "cut.txt", cut))
    np.testing.assert_allclose(telemetry.frame[["cpu_util_core_0", "cpu_util_core_1"]], 99.0)
    assert len(telemetry.frame) == 1  # the last scrape lacks cpu 1's user line: its interval is left out
    assert "cut_short_line" in telemetry.report.codes("info")


# --- hand-made long CSV ----------------------------------------------------------------------------------------

def test_long_csv_with_iso_times_and_columns_in_any_order(tmp_path):
    rows = [f"{mode},{cpu},{pd.Timestamp(T0 + s, unit='s').isoformat()}Z,"
            f"{100 + 0.4 * s if mode == 'user' else 500 + 0.6 * s if mode == 'idle' else 3}"
            for s in range(4) for cpu in (0, 1) for mode in MODES]
    telemetry = load_telemetry(_write(tmp_path, "long.csv", "mode,cpu,timestamp,value\n" + "\n".join(rows) + "\n"))
    np.testing.assert_allclose(telemetry.frame["timestamp"], T0 + np.arange(1, 4))
    np.testing.assert_allclose(telemetry.frame[["cpu_util_core_0", "cpu_util_core_1"]], 40.0)


def test_long_csv_row_with_a_fifth_field_is_refused_not_shifted_into_an_index(tmp_path):
    text = "timestamp,cpu,mode,value\n" + "".join(f"{T0 + s},0,{mode},{s},x\n" for s in range(3)
                                                   for mode in ("idle", "user"))
    with pytest.raises(NotParquetError, match=r"'long\.csv', line 2 has 5 fields where the header names 4"):
        load_telemetry(_write(tmp_path, "long.csv", text))


def test_a_sample_line_of_one_long_unreadable_label_is_refused_in_linear_time(tmp_path):
    text = "# scrape_time 1795900000\nnode_cpu_seconds_total{" + "a" * 100_000 + "} 1\n"
    with pytest.raises(NotParquetError, match=r"line 2 is not a valid Prometheus sample"):
        load_telemetry(_write(tmp_path, "labels.txt", text))  # a search for each label took minutes here


def test_long_csv_with_a_word_for_a_value_is_one_error(tmp_path):
    text = "timestamp,cpu,mode,value\n1795900000,0,idle,5\n1795900001,0,idle,lots\n"
    with pytest.raises(NonNumericError, match=r"column 'value' .* 'lots' at row 1"):
        load_telemetry(_write(tmp_path, "long.csv", text))


# --- detection ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("head, reader", [
    ('{"status":"success","data":{"resultType":"matrix","result":[]}}', "prometheus-json"),
    ('{"status":"error","errorType":"bad_data","error":"x"}', "prometheus-json"),
    ('{"sysstat": {"hosts": [{"nodename": "h", "statistics": []}]}}', None),
    ("# HELP node_cpu_seconds_total Seconds.\n", "prometheus-text"),
    ('node_cpu_seconds_total{cpu="0",mode="idle"} 1 1795900000000\n', "prometheus-text"),
    ("value,mode,cpu,timestamp\n1,idle,0,1795900000\n", "prometheus-csv"),
    ("timestamp,workload_type,cpu_util_overall,cpu_util_core_0\n", None),
    ("timestamp,cpu,mode,value,instance\n", None),
])
def test_each_format_is_told_by_its_content(head, reader):
    claimed = [r.format for r in prometheus.READERS if r.looks_like(head)]
    assert claimed == ([reader] if reader else [])


def test_step_times_are_noted_for_query_range_but_not_for_raw_samples():
    assert "step_times" in validate_sources(_fixture("prometheus_query_range_counters.json")).codes("info")
    assert "step_times" not in validate_sources(_fixture("prometheus_query_raw_counters.json")).codes("info")
