"""Anomaly episodes: stretches where the actual target leaves a model's prediction band for at least `min_samples`
consecutive samples, ranked by how far and how long it stayed out, and scored against labelled anomalies.

A stretch never runs across a session boundary, a pause in sampling, or two hold-out rows that are not neighbours
in the telemetry: the same breaks the trace charts draw (twin_core.plots), so an episode is always one unbroken
piece of line. Sizes are in points of utilisation beyond the band: `peak_excess` is the largest, `total_excess` the
sum over the episode's samples (point·samples, so it grows with both size and duration; episodes are ranked by it).
What an episode means depends on the twin: a reconstruction twin reads cpu_util_overall, so its episodes are mostly
where the identity's arithmetic fails; a behavioural twin's are where the target stopped behaving as the rest of
the machine and the workload say it should.
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from twin_core.demo import InjectedAnomaly
from twin_core.errors import ConfigError, MissingColumnError
from twin_core.evaluate import model_key, model_words
from twin_core.stretches import shared_stretch_ids
from twin_core.telemetry import SESSION, TIMESTAMP, WORKLOAD

EPISODE_COLUMNS = ("rank", SESSION, WORKLOAD, "direction", "start", "end", "duration_s", "samples", "peak_excess",
                   "total_excess", "first_row", "last_row")


BAND_COLUMNS = ("row", TIMESTAMP, SESSION, WORKLOAD, "actual", "predicted", "lower", "upper")


def band_frame(predictions: pd.DataFrame, key: str) -> pd.DataFrame:
    """One model's hold-out band in the columns the episode finder reads (row, timestamp, session, workload_type,
    actual, predicted, lower, upper), in time order (keeping the index of its rows), from a predictions frame with
    `<key>`, `lower <key>` and `upper <key>` (Evaluation.predictions, a stored run's)."""
    wanted = {key: "predicted", f"lower {key}": "lower", f"upper {key}": "upper"}
    missing = [c for c in ["row", TIMESTAMP, SESSION, WORKLOAD, "actual", *wanted] if c not in predictions.columns]
    if set(missing) & {"row", TIMESTAMP, SESSION, WORKLOAD, "actual", key}:
        raise MissingColumnError(f"The predictions have no {', '.join(repr(c) for c in missing)} column: they are "
                                 f"not a run's hold-out predictions with model '{key}' (a predictions.parquet that "
                                 "`train --out` wrote, or a kept run's).")
    if missing:
        raise MissingColumnError(f"The predictions have no {', '.join(repr(c) for c in missing)} column: this run "
                                 "has no prediction band for that model (runs trained before intervals have none); "
                                 "train it again to find anomalies.")
    frame = predictions[["row", TIMESTAMP, SESSION, WORKLOAD, "actual", *wanted]].rename(columns=wanted)
    return frame.sort_values([TIMESTAMP, "row"], kind="stable")


def _excess(frame: pd.DataFrame) -> np.ndarray:
    """Signed points beyond the band per row: positive above `upper`, negative below `lower`, 0 inside (or unknown)."""
    actual = frame["actual"].to_numpy(dtype=float)
    above = actual - frame["upper"].to_numpy(dtype=float)
    below = actual - frame["lower"].to_numpy(dtype=float)
    excess = np.where(above > 0, above, np.where(below < 0, below, 0.0))
    return np.nan_to_num(excess, nan=0.0)


def _runs(frame: pd.DataFrame, min_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each run of at least `min_samples` rows outside the band on one side, within one unbroken stretch: first
    position, position after the last, and the signed excess of every row."""
    if isinstance(min_samples, bool) or not isinstance(min_samples, numbers.Integral) or min_samples < 1:
        raise ConfigError(f"An anomaly episode needs at least 1 sample outside the band (a whole number); "
                          f"min_samples is {min_samples!r}.", "anomalies.min_samples")
    missing = [c for c in BAND_COLUMNS if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"The band frame has no {', '.join(repr(c) for c in missing)} column: pass "
                                 "band_frame(predictions, key), which names a model's band as the episodes read it.")
    excess = _excess(frame)
    if not len(frame):
        return np.array([], dtype=int), np.array([], dtype=int), excess
    side = np.sign(excess).astype(int)
    stretch = shared_stretch_ids(frame)  # the trace charts' own breaks
    change = np.r_[True, (side[1:] != side[:-1]) | (stretch[1:] != stretch[:-1])]
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:], len(frame)]
    keep = (side[starts] != 0) & (ends - starts >= min_samples)
    return starts[keep], ends[keep], excess


def find_episodes(frame: pd.DataFrame, min_samples: int = 5) -> pd.DataFrame:
    """The anomaly episodes of a band frame (`band_frame`), largest first (EPISODE_COLUMNS; times in epoch s,
    excess in points of utilisation beyond the band)."""
    starts, ends, excess = _runs(frame, min_samples)
    times = frame[TIMESTAMP].to_numpy(dtype=float)
    rows = frame["row"].to_numpy()
    out = pd.DataFrame({
        SESSION: frame[SESSION].to_numpy()[starts], WORKLOAD: frame[WORKLOAD].to_numpy()[starts],
        "direction": np.where(excess[starts] > 0, "above", "below"),
        "start": times[starts], "end": times[ends - 1], "duration_s": times[ends - 1] - times[starts],
        "samples": ends - starts,
        "peak_excess": [float(np.abs(excess[a:b]).max()) for a, b in zip(starts, ends)],
        "total_excess": [float(np.abs(excess[a:b]).sum()) for a, b in zip(starts, ends)],
        "first_row": rows[starts], "last_row": rows[ends - 1]})
    out = out.sort_values(["total_excess", "peak_excess", "samples"], ascending=False, kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)[list(EPISODE_COLUMNS)]


def anomaly_column(predictions: pd.DataFrame, key: str, min_samples: int = 5) -> pd.Series:
    """True for every row of `predictions` (any order) inside an episode of model `key`'s band: predictions.parquet's
    `anomaly` column."""
    frame = band_frame(predictions, key)
    starts, ends, _ = _runs(frame, min_samples)
    inside = np.zeros(len(frame) + 1, dtype=int)
    np.add.at(inside, starts, 1)
    np.add.at(inside, ends, -1)
    return pd.Series(np.cumsum(inside[:-1]) > 0, index=frame.index, name="anomaly").reindex(predictions.index)


def label_frame(labels: list[InjectedAnomaly], frame: pd.DataFrame) -> pd.DataFrame:
    """Labelled anomalies as (session, start, end, samples, points, in_band), each placed in the session of the
    telemetry rows its time range covers; `in_band` says whether `frame` (a band frame) holds any of its samples,
    so a score can be limited to the labels a hold-out can find."""
    times = frame[TIMESTAMP].to_numpy(dtype=float)
    sessions = frame[SESSION].to_numpy()
    records = []
    for label in labels:
        inside = (times >= label.start) & (times <= label.end)
        records.append({SESSION: sessions[inside][0] if inside.any() else None, "start": label.start,
                        "end": label.end, "samples": label.samples, "points": label.points,
                        "in_band": bool(inside.any())})
    return pd.DataFrame.from_records(records, columns=[SESSION, "start", "end", "samples", "points", "in_band"])


def _overlaps(episodes: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """Matrix (episodes × labels): True where both are in one session and their time ranges overlap."""
    same = episodes[SESSION].to_numpy()[:, None] == labels[SESSION].to_numpy()[None, :]
    apart = ((episodes["end"].to_numpy()[:, None] < labels["start"].to_numpy()[None, :])
             | (episodes["start"].to_numpy()[:, None] > labels["end"].to_numpy()[None, :]))
    return same & ~apart


def score_episodes(episodes: pd.DataFrame, labels: pd.DataFrame) -> dict[str, float | int]:
    """Precision (share of episodes that overlap a label in time, same session) and recall (share of labels that
    some episode overlaps), with the counts behind them; NaN where there is nothing to divide by."""
    hits = _overlaps(episodes, labels) if len(episodes) and len(labels) else np.zeros((len(episodes), len(labels)),
                                                                                        dtype=bool)
    true_episodes, found = int(hits.any(axis=1).sum()), int(hits.any(axis=0).sum())
    return {"episodes": int(len(episodes)), "labels": int(len(labels)), "true_episodes": true_episodes,
            "found_labels": found,
            "precision": true_episodes / len(episodes) if len(episodes) else float("nan"),
            "recall": found / len(labels) if len(labels) else float("nan")}


def best_key(metrics: dict) -> str:
    """The key of a run's best model ('L2:top-ridge') from its metrics.json, whose predictions carry its band."""
    try:
        return model_key(int(metrics["best"]["layer"]), str(metrics["best"]["name"]))
    except (KeyError, TypeError, ValueError):
        raise ConfigError("The run's metrics name no best model (`best.layer` and `best.name`); they are not a "
                          "metrics.json that `train` wrote: train the run again.") from None


def episodes_text(found: pd.DataFrame, key: str, rows: int, min_samples: int, score: dict | None = None,
                  top: int = 20) -> str:
    """The ranked episodes as the CLI prints them (the `top` largest), the rows they cover, and the precision and
    recall against labels when `score` (score_episodes) is given."""
    lines = [f"{len(found):,} episode(s) of {min_samples}+ samples outside the band of {model_words(key)}, "
             f"{int(found['samples'].sum()):,} of {rows:,} hold-out rows"]
    if len(found):
        shown = found.head(top).assign(
            start=pd.to_datetime(found["start"].head(top), unit="s").dt.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-3],
            duration_s=found["duration_s"].head(top).round(1), peak_excess=found["peak_excess"].head(top).round(1),
            total_excess=found["total_excess"].head(top).round(0).astype(int))
        shown = shown.rename(columns={"start": "start (UTC)", "duration_s": "seconds", "peak_excess": "peak (points)",
                                      "total_excess": "size (point·samples)", WORKLOAD: "workload"})
        lines.append(shown.drop(columns=["end", "first_row", "last_row"]).to_string(index=False))
        if len(found) > top:
            lines.append(f"… and {len(found) - top:,} smaller (--top to see more)")
    if score is not None:
        lines.append(f"Against the {score['labels']} labelled anomalies in the hold-out: "
                     f"{score['found_labels']} found (recall {score['recall']:.2f}), {score['true_episodes']} of "
                     f"{score['episodes']} episodes on a label (precision {score['precision']:.2f})")
    return "\n".join(lines)
