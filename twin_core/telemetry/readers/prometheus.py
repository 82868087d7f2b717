"""Prometheus and node_exporter exports: the JSON of `/api/v1/query_range`, the text exposition format scraped
repeatedly (`/federate`, or `/metrics` with a `# scrape_time` line before each scrape), and a long CSV
`timestamp,cpu,mode,value`.

node_exporter's `node_cpu_seconds_total` holds cumulative seconds per cpu and mode; utilisation over an interval
is the share of busy time (every mode but idle and iowait, as psutil counts it) in the total, computed by
`counters.counter_segments`, so resets, missing cpus and pauses become messages and new sessions. A query that
already computes per-cpu utilisation is read as it is; when every value is at most 1 they are read as fractions
(×100) with a warning, since a file cannot tell fractions from percent of a nearly idle machine. node_exporter has no
overall line, so the overall is the mean of the cpus unless a utilisation query carries a series without `cpu`.
One file holds one host: fleets are read another way.
"""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd

from twin_core.telemetry.columns import _to_epoch_seconds
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.csvtext import longer_than_header
from twin_core.telemetry.readers.common import (BUSY_DEFINITION, Reader, part_name,
                                                utilisation_frame)
from twin_core.telemetry.readers.counters import counter_segments
from twin_core.telemetry.report import ValidationReport, _n

COUNTER = "node_cpu_seconds_total"
IDLE_MODES = ("idle", "iowait")
# the modes node_exporter writes on Linux; a file holding only some of them undercounts the total
LINUX_MODES = frozenset({"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"})
OVERALL_KEY = "overall"
HOST_LABELS = ("instance", "host", "hostname", "nodename")
LONG_COLUMNS = frozenset({"timestamp", "cpu", "mode", "value"})
UTIL_QUERY = ('100 * (1 - sum by (cpu) (rate(node_cpu_seconds_total{mode=~"idle|iowait"}[1m])) '
              '/ sum by (cpu) (rate(node_cpu_seconds_total[1m])))')
RECORD_HINT = ("record with Prometheus's /federate (it stamps every sample) or write a line "
               "`# scrape_time <epoch seconds>` before each scrape of /metrics, e.g. "
               "`{ echo \"# scrape_time $(date +%s.%N)\"; curl -s HOST:9100/metrics; } >> FILE` every second")

_SAMPLE_LINE = re.compile(
    r'(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<labels>(?:[^"}]|"(?:[^"\\]|\\.)*")*)\})?'
    r'\s+(?P<value>\S+)(?:\s+(?P<ts>-?\d+))?\s*')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_COUNTER_LINE = re.compile(rf"^(?:# TYPE {COUNTER}\b|{COUNTER}\s*[{{ ])", re.MULTILINE)
_EXPOSITION_START = re.compile(r"\A\s*# (?:HELP|TYPE|scrape_time) ")


def _looks_like_json(head: str) -> bool:
    """A Prometheus HTTP API answer: a JSON object with a resultType, or its error form."""
    return head.lstrip().startswith("{") and (
        '"resultType"' in head or ('"status"' in head and '"errorType"' in head))


def _looks_like_text(head: str) -> bool:
    """The exposition format: node_cpu_seconds_total samples or its TYPE line, or a scrape's first comment."""
    return bool(_COUNTER_LINE.search(head) or _EXPOSITION_START.match(head))


def _looks_like_csv(head: str) -> bool:
    """A long CSV whose header is exactly timestamp, cpu, mode, value (in any order)."""
    first = head.lstrip().split("\n", 1)[0]
    return {c.strip().strip('"').lower() for c in first.split(",")} == LONG_COLUMNS and first.count(",") == 3


# --- cumulative counters (every format) -> frames --------------------------------------------------------------

def _counter_frames(name: str, samples: pd.DataFrame, report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """Frames from node_cpu_seconds_total samples (columns time, cpu, mode, value), one per stretch between resets."""
    samples = _drop_non_finite(name, samples, report)
    if samples.empty:
        report.add("error", "empty_file",
                   f"File '{name}' holds no usable {COUNTER} sample; export that metric for the time range recorded.",
                   file=name)
        return []
    wide = samples.drop_duplicates(["time", "cpu", "mode"], keep="last").pivot(
        index="time", columns=["cpu", "mode"], values="value")
    times = wide.index.to_numpy(dtype="float64")
    busy: dict[int, np.ndarray] = {}
    total: dict[int, np.ndarray] = {}
    for cpu in sorted(set(wide.columns.get_level_values("cpu"))):
        block = wide[cpu]
        modes = sorted(block.columns)
        if "idle" not in modes:
            report.add("error", "missing_column",
                       f"File '{name}' has no idle time for cpu {cpu} (modes: {', '.join(modes)}), so its busy share "
                       f"cannot be computed; export {COUNTER} for every mode, without a mode filter.", file=name)
            return []
        busy[cpu] = _sum_columns(block, [m for m in modes if m not in IDLE_MODES], len(times))
        total[cpu] = busy[cpu] + _sum_columns(block, [m for m in modes if m in IDLE_MODES], len(times))
    _say_partial_modes(name, set(wide.columns.get_level_values("mode")), report)
    report.add("info", "busy_definition",
               f"File '{name}': per-cpu utilisation is the rate of busy over total cpu time ({BUSY_DEFINITION}).",
               file=name)
    segments = counter_segments(name, times, busy, total, report)
    return [(part_name(name, i, len(segments)),
             utilisation_frame(part_name(name, i, len(segments)), s.times, s.cores, None, report))
            for i, s in enumerate(segments)]


def _sum_columns(block: pd.DataFrame, modes: list[str], rows: int) -> np.ndarray:
    """The sum of some modes' counters, NaN where any is absent, always added in the same order (so a sum of
    non-decreasing counters never decreases by rounding)."""
    out = np.zeros(rows)
    for mode in modes:
        out = out + block[mode].to_numpy(dtype="float64")
    return out


def _say_partial_modes(name: str, modes: set[str], report: ValidationReport) -> None:
    """Warn when the file holds only some of the Linux modes: the total then leaves the others out."""
    missing = LINUX_MODES - modes
    if modes <= LINUX_MODES and missing:
        report.add("warning", "partial_modes",
                   f"File '{name}' holds {COUNTER} for the modes {', '.join(sorted(modes))} only (not "
                   f"{', '.join(sorted(missing))}), so utilisation is the busy share of those modes' time; export "
                   "every mode (no mode filter) to get the share of all cpu time.", file=name)


def _drop_non_finite(name: str, samples: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    """Leave out NaN and ±Inf samples (Prometheus writes them), with one message saying how many and where."""
    bad = ~np.isfinite(samples["value"].to_numpy(dtype="float64"))
    if bad.any():
        first = samples[bad].iloc[0]
        report.add("warning", "non_finite_samples",
                   f"File '{name}': {_n(int(bad.sum()), 'sample')} are NaN or infinite (first of cpu {first['cpu']} "
                   f"at {_when(first['time'])}), as Prometheus writes when a series has no value there; they are "
                   "left out, not guessed.", file=name)
    return samples[~bad]


def _when(seconds: float) -> str:
    """Epoch seconds as a UTC time people read in a message ('2026-11-29 06:44:26 UTC')."""
    return pd.Timestamp(float(seconds), unit="s").isoformat(sep=" ") + " UTC"


def _one_host(name: str, label_sets: list[dict[str, str]], report: ValidationReport) -> bool:
    """False (with an error naming the hosts) when the series come from more than one host."""
    hosts = sorted({", ".join(f"{k}={labels[k]}" for k in HOST_LABELS if k in labels) for labels in label_sets} - {""})
    if len(hosts) <= 1:
        return True
    report.add("error", "several_hosts",
               f"File '{name}' holds series of {len(hosts)} hosts ({'; '.join(hosts[:5])}"
               f"{'; …' if len(hosts) > 5 else ''}); a twin is of one machine, so export one host per file "
               "(add a filter such as {instance=\"HOST:9100\"} to the query).", file=name)
    return False


def _cpu_number(name: str, value: str, where: str, report: ValidationReport) -> int | None:
    """A cpu label as a number, or None with an error."""
    try:
        return int(value)
    except ValueError:
        report.add("error", "non_numeric",
                   f"File '{name}' {where} has cpu=\"{value}\", not a cpu number; export node_exporter's cpu label "
                   "as it is (0, 1, …).", file=name, example=value)
        return None


# --- /api/v1/query_range JSON ------------------------------------------------------------------------------------

def _read_json(
    name: str, text: str, options: SourceOptions, report: ValidationReport
) -> list[tuple[str, pd.DataFrame]]:
    """Read a query_range answer: raw node_cpu_seconds_total counters, or an already-computed per-cpu utilisation."""
    try:
        answer = json.loads(text)
    except json.JSONDecodeError as exc:
        report.add("error", "not_parquet",
                   f"File '{name}' is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); save the "
                   "whole answer of /api/v1/query_range again.", file=name)
        return []
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        report.add("error", "not_parquet",
                   f"File '{name}' is Prometheus's answer to a failed query: {error or 'no data and no reason given'}; "
                   "fix the query and export again.", file=name)
        return []
    data = answer.get("data")
    kind = data.get("resultType") if isinstance(data, dict) else None
    if kind != "matrix":
        report.add("error", "not_parquet",
                   f"File '{name}' holds a Prometheus result of type {kind!r}, not a time range (matrix); export "
                   "with /api/v1/query_range?query=…&start=…&end=…&step=1s rather than /api/v1/query.", file=name)
        return []
    series = data.get("result") or []
    if (shape := _result_shape_problem(series)) is not None:
        report.add("error", "not_parquet",
                   f"File '{name}' is not a Prometheus matrix as /api/v1/query_range writes it: {shape}; save the "
                   "whole answer of the query again, unedited.", file=name)
        return []
    if not series:
        report.add("error", "empty_file",
                   f"File '{name}': the query matched no series in its time range; check the metric name, the "
                   "label filters and the start/end times in Prometheus's expression browser.", file=name)
        return []
    if not _one_host(name, [s.get("metric", {}) for s in series], report):
        return []
    counters = [s for s in series if s.get("metric", {}).get("__name__") == COUNTER]
    per_mode = [s for s in series if "mode" in s.get("metric", {})]
    if counters and len(counters) == len(series):
        return _json_counters(name, counters, report)
    if per_mode:
        report.add("error", "not_parquet",
                   f"File '{name}' holds series per cpu mode that are not the raw {COUNTER} counters (labels "
                   f"{per_mode[0].get('metric')}); export either {COUNTER} itself or a per-cpu utilisation such as "
                   f"{UTIL_QUERY}.", file=name)
        return []
    return _json_utilisation(name, series, report)


def _result_shape_problem(series: object) -> str | None:
    """What is wrong with the shape of a matrix's `result` (a list of {"metric": {labels}, "values": [...]}), or
    None; checked first so that no later step meets a string where it expects an object."""
    if not isinstance(series, list):
        return f"its data.result is {type(series).__name__}, where a list of series is expected"
    for i, entry in enumerate(series):
        if not isinstance(entry, dict):
            return f"series {i + 1} of data.result is {json.dumps(entry)[:60]}, not an object with metric and values"
        if not isinstance(entry.get("metric", {}), dict):
            return (f"series {i + 1} has metric {json.dumps(entry['metric'])[:60]}, where an object of labels "
                    "is expected")
    return None


def _json_series(name: str, series: dict, report: ValidationReport) -> tuple[np.ndarray, np.ndarray] | None:
    """One series' times and values (Prometheus writes values as text, NaN and ±Inf included); None, with an
    error in the report, when they are not [time, "number"] pairs."""
    values = series.get("values") or []
    try:
        times = np.array([float(v[0]) for v in values], dtype="float64")
        return times, np.array([float(v[1]) for v in values], dtype="float64")
    except (TypeError, ValueError, IndexError):
        report.add("error", "non_numeric",
                   f"File '{name}': series {series.get('metric')} has values that are not [time, \"number\"] pairs; "
                   "save the whole answer of the query again.", file=name)
        return None


def _json_counters(name: str, series: list[dict], report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """Frames from node_cpu_seconds_total series (one per cpu and mode), with a note when the times are
    query_range's evaluation steps rather than scrape times; one error when a series lacks a cpu or mode."""
    parts: list[pd.DataFrame] = []
    for s in series:
        labels = s["metric"]
        cpu = _cpu_number(name, str(labels.get("cpu")), f"series {labels}", report)
        if cpu is None or "mode" not in labels:
            if cpu is not None:
                report.add("error", "missing_column",
                           f"File '{name}' has a {COUNTER} series without a mode label ({labels}); export the metric "
                           "itself, not an aggregate of it.", file=name)
            return []
        if (read := _json_series(name, s, report)) is None:
            return []
        times, values = read
        parts.append(pd.DataFrame({"time": times, "cpu": cpu, "mode": labels["mode"], "value": values}))
    samples = pd.concat(parts, ignore_index=True)
    stamps = np.unique(samples["time"].to_numpy())
    steps = np.diff(stamps)
    if len(steps) and np.all(stamps == np.round(stamps)):  # whole seconds: query_range's steps, not scrape times
        report.add("info", "step_times",
                   f"File '{name}': times look like query_range's evaluation steps ({float(np.median(steps)):g} s), "
                   "not the scrape times; each value is the last scrape at or before its step, so the times may lag "
                   "the real samples by up to one step. For exact times export the raw samples with a range "
                   "selector: /api/v1/query?query=node_cpu_seconds_total[1h] (see the README).", file=name)
    return _counter_frames(name, samples, report)


def _json_utilisation(name: str, series: list[dict], report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """Per-cpu utilisation series (label cpu) and at most one overall series (no cpu label)."""
    columns: dict[str, pd.Series] = {}  # "0", "1", … per cpu and OVERALL_KEY for the series without a cpu label
    non_finite: list[float] = []  # the times of NaN and ±Inf samples
    for s in series:
        labels = s.get("metric", {})
        cpu = _cpu_number(name, str(labels["cpu"]), f"series {labels}", report) if "cpu" in labels else None
        if "cpu" in labels and cpu is None:
            return []
        key = OVERALL_KEY if cpu is None else str(cpu)
        if key in columns:
            what = f"cpu {cpu}" if cpu is not None else "the overall (no cpu label)"
            report.add("error", "ambiguous_cores",
                       f"File '{name}' holds more than one series for {what} (e.g. {labels}); aggregate the query "
                       "by cpu so each cpu has one series.", file=name)
            return []
        if (read := _json_series(name, s, report)) is None:
            return []
        times, values = read
        finite = np.isfinite(values)
        non_finite.extend(times[~finite])
        columns[key] = pd.Series(values[finite], index=times[finite])
    if list(columns) == [OVERALL_KEY]:
        report.add("error", "too_few_cores",
                   f"File '{name}' has no per-cpu series (no cpu label); export a query by cpu, e.g. {UTIL_QUERY}.",
                   file=name)
        return []
    if non_finite:
        report.add("warning", "non_finite_samples",
                   f"File '{name}': {_n(len(non_finite), 'sample')} are NaN or infinite (first at "
                   f"{_when(min(non_finite))}), as Prometheus writes when a rate has too few points; they are left "
                   "out, not guessed.", file=name)
    table = pd.DataFrame(columns).sort_index()
    holes = table.isna().any(axis=1).to_numpy()
    if holes.any():
        report.add("info", "rows_left_out",
                   f"File '{name}': {_n(int(holes.sum()), 'time')} of {len(table)} lack a value of some series "
                   "and are left out.", file=name)
    table = table[~holes]
    if table.empty:
        report.add("error", "empty_file",
                   f"File '{name}' has no time at which every series has a value; export a range where they overlap.",
                   file=name)
        return []
    if float(table.to_numpy().max()) <= 1.0:
        table = table * 100.0
        report.add("warning", "fractions_to_percent",
                   f"File '{name}': every value is at most 1, so they are read as fractions of a cpu (×100). If "
                   "the query already gives percent (a nearly idle machine), they are 100 times too high now: "
                   "export that query divided by 100, `(...) / 100`, so its values are fractions too (a file "
                   "cannot tell the two apart).", file=name)
    cores = {int(key): table[key].to_numpy() for key in table.columns if key != OVERALL_KEY}
    overall = table[OVERALL_KEY].to_numpy() if OVERALL_KEY in table.columns else None
    return [(name, utilisation_frame(name, table.index.to_numpy(dtype="float64"), cores, overall, report))]


# --- the text exposition format, scraped repeatedly ------------------------------------------------------------

def _read_text(
    name: str, text: str, options: SourceOptions, report: ValidationReport
) -> list[tuple[str, pd.DataFrame]]:
    """Read /federate output (timestamped samples) or /metrics scrapes each after a `# scrape_time` line."""
    rows: list[tuple[float, int, str, float]] = []
    label_sets: dict[tuple[tuple[str, str], ...], None] = {}
    scrape_time: float | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("# scrape_time"):
            try:
                scrape_time = float(stripped.split()[2])
            except (IndexError, ValueError):
                report.add("error", "bad_timestamp",
                           f"File '{name}', line {number}: '{stripped[:80]}' gives no time; write "
                           "`# scrape_time <epoch seconds>`.", file=name)
                return []
            continue
        if not stripped.startswith(COUNTER) or not re.match(rf"{COUNTER}\s*[{{ \t]", stripped):
            continue  # comments, HELP/TYPE lines and other metrics
        sample = _parse_sample(name, stripped, number, report)
        if sample is None:
            return []
        labels, value, stamp = sample
        if stamp is None and scrape_time is None:
            report.add("error", "bad_timestamp",
                       f"File '{name}', line {number}: the sample has no timestamp and no `# scrape_time` line comes "
                       f"before it, so its time is unknown; {RECORD_HINT}.", file=name)
            return []
        if "cpu" not in labels or "mode" not in labels:
            report.add("error", "missing_column",
                       f"File '{name}', line {number}: a {COUNTER} sample without cpu and mode labels; save the "
                       "exporter's output as it is.", file=name)
            return []
        cpu = _cpu_number(name, labels["cpu"], f"line {number}", report)
        if cpu is None:
            return []
        label_sets[tuple(sorted((k, v) for k, v in labels.items() if k in HOST_LABELS))] = None
        rows.append((stamp / 1000.0 if stamp is not None else scrape_time, cpu, labels["mode"], value))
    if not rows:
        report.add("error", "empty_file",
                   f"File '{name}' holds no {COUNTER} sample; scrape a node_exporter with its cpu collector enabled.",
                   file=name)
        return []
    if not _one_host(name, [dict(k) for k in label_sets], report):
        return []
    return _counter_frames(name, pd.DataFrame(rows, columns=["time", "cpu", "mode", "value"]), report)


def _parse_sample(
    name: str, line: str, number: int, report: ValidationReport
) -> tuple[dict[str, str], float, int | None] | None:
    """One sample line: its labels, its value and its own timestamp in milliseconds (if any); None with an error."""
    match = _SAMPLE_LINE.fullmatch(line)
    labels: dict[str, str] = {}
    if match is not None and match["labels"]:
        body, at = match["labels"], 0
        while at < len(body) and (label := _LABEL.match(body, at)) is not None:
            # one label after the other from where the last ended (a search would rescan the rest each time)
            labels[label[1]] = re.sub(r'\\[\\"n]', lambda m: _ESCAPES[m[0]], label[2])
            at = label.end()
        if body[at:].strip():
            match = None
    try:
        value = float(match["value"]) if match is not None else None
    except ValueError:
        value = None
    if match is None or value is None:
        report.add("error", "malformed_line",
                   f"File '{name}', line {number} is not a valid Prometheus sample ('{line[:100]}'); fix or remove "
                   "that line (a half-written last line is usual when the recording was stopped mid-scrape).",
                   file=name, example=line[:100])
        return None
    return labels, value, int(match["ts"]) if match["ts"] else None


# --- long CSV timestamp,cpu,mode,value ---------------------------------------------------------------------------

def _read_csv(name: str, text: str, options: SourceOptions, report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """Read a long CSV of node_cpu_seconds_total counters (timestamp in epoch seconds or ISO-8601)."""
    if (wide := longer_than_header(text, ",", len(LONG_COLUMNS))) is not None:
        report.add("error", "malformed_line",
                   f"File '{name}', line {wide[0]} has {wide[1]:,} fields where the header names "
                   f"{len(LONG_COLUMNS)}; write one timestamp,cpu,mode,value row per line.", file=name,
                   example=f"line {wide[0]}")
        return []
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, skipinitialspace=True, index_col=False)
    except (ValueError, pd.errors.ParserError) as exc:
        report.add("error", "not_parquet",
                   f"File '{name}' cannot be read as CSV ({str(exc).splitlines()[0]}); write one "
                   "timestamp,cpu,mode,value row per line.", file=name)
        return []
    table.columns = [c.strip().lower() for c in table.columns]
    if table.empty:
        report.add("error", "empty_file", f"File '{name}' has a header but no rows; export the counters again.",
                   file=name)
        return []
    times = _to_epoch_seconds(name, table["timestamp"].str.strip(), report)
    if times is None:
        return []
    for column in ("cpu", "value"):
        numbers = pd.to_numeric(table[column].str.strip(), errors="coerce")
        bad = numbers.isna() & ~table[column].str.strip().str.lower().isin(["nan", "+inf", "-inf", "inf"])
        if column == "cpu":
            bad |= numbers.notna() & (numbers != numbers.round())
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            report.add("error", "non_numeric",
                       f"File '{name}', column '{column}' has {_n(int(bad.sum()), 'value')} that are not "
                       f"{'cpu numbers' if column == 'cpu' else 'numbers'}, e.g. {table[column].iloc[row]!r} at "
                       f"row {row}; fix or drop those rows.", file=name, column=column,
                       example=table[column].iloc[row])
            return []
    samples = pd.DataFrame({"time": times, "cpu": pd.to_numeric(table["cpu"]).astype("int64"),
                            "mode": table["mode"].str.strip(),
                            "value": table["value"].str.strip().astype("float64")})
    return _counter_frames(name, samples, report)


READERS: tuple[Reader, ...] = (
    Reader("prometheus-json", "Prometheus /api/v1/query_range JSON (node_cpu_seconds_total or per-cpu utilisation)",
           _looks_like_json, _read_json),
    Reader("prometheus-text", "Prometheus text format scraped repeatedly (/federate, or node_exporter /metrics "
           "after '# scrape_time' lines)", _looks_like_text, _read_text),
    Reader("prometheus-csv", "long CSV timestamp,cpu,mode,value of node_cpu_seconds_total", _looks_like_csv,
           _read_csv),
)
