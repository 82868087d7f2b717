"""Side-by-side views of runs: what differs in their configs, and how their scores moved."""
from __future__ import annotations

import dataclasses
import json

import pandas as pd

from twin_core.config import RunConfig
from twin_core.evaluate import model_key
from twin_core.runs import FinishedRun

ABSENT = "(absent)"
BEST = "best model (by OOF R²)"


def _walk(value: object, path: str, out: dict[str, object]) -> None:
    """Dicts open with `.key`, lists of records with `[i]`; scalars and tuples of scalars are leaves."""
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, (list, tuple)) and any(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", out)
    else:
        out[path] = value


def flatten_config(config: RunConfig) -> dict[str, object]:
    """Every setting of a config under a dotted path, e.g. `stack.layers[1].models[0].params.n_estimators`."""
    out: dict[str, object] = {}
    _walk(dataclasses.asdict(config), "", out)
    return out


def _show(value: object) -> str:
    """One display form for any setting, so a table column holds a single type (Arrow-friendly)."""
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value, default=str)


def config_diff(a: RunConfig, b: RunConfig) -> pd.DataFrame:
    """The settings that differ (columns path, a, b, as text); a setting only one side has shows `ABSENT`."""
    flat_a, flat_b = flatten_config(a), flatten_config(b)
    paths = list(flat_a) + [p for p in flat_b if p not in flat_a]
    rows = [{"path": p, "a": _show(flat_a[p]) if p in flat_a else ABSENT,
             "b": _show(flat_b[p]) if p in flat_b else ABSENT}
            for p in paths if p not in flat_a or p not in flat_b or flat_a[p] != flat_b[p]]
    return pd.DataFrame(rows, columns=["path", "a", "b"])


def runs_table(results: list[tuple[str, FinishedRun]]) -> pd.DataFrame:
    """One row per run: what it was, how it was split, its best model against the baselines, and its cost."""
    rows = []
    for label, result in results:
        counts, best = result.split.counts(), result.evaluation.best
        rows.append({
            "label": label, "name": result.config.name, "split": result.split.description,
            "cv": result.cv_description, "rows_train": counts["train"], "rows_gap": counts["gap"],
            "rows_test": counts["test"], "best_model": best["key"], "best_r2_holdout": best["r2_holdout"],
            "best_r2_oof": best["r2_oof"], "identity_r2": result.evaluation.baseline_r2("identity"),
            "persistence_r2": result.evaluation.baseline_r2("persistence"),
            "train_seconds": result.seconds.get("train", float("nan")), "leaky": result.config.leaky})
    return pd.DataFrame(rows)


def _float(value: object) -> float:
    """A metrics.json score as a float: `null` (a score that could not be computed) becomes NaN."""
    return float("nan") if value is None else float(value)


def metric_deltas_from_metrics(a: dict, b: dict) -> pd.DataFrame:
    """R² of each run's best model (`BEST`, whichever it is), of every model both runs have (matched by layer and
    name) and of the baselines, with delta = b − a; `a`, `b` are metrics.json dicts (`TrainResult.metrics`,
    `RunStore.metrics`)."""
    def models(metrics: dict) -> pd.DataFrame:
        return pd.DataFrame([{"key": model_key(m["layer"], m["name"]), "r2_holdout": _float(m["r2_holdout"]),
                              "r2_oof": _float(m["r2_oof"])} for m in metrics["models"]],
                            columns=["key", "r2_holdout", "r2_oof"])

    def baselines(metrics: dict) -> pd.DataFrame:
        return pd.DataFrame([{"key": name, "r2_holdout": _float(base["r2_holdout"])}
                             for name, base in metrics["baselines"].items()], columns=["key", "r2_holdout"])

    def best(metrics: dict) -> pd.DataFrame:
        return pd.DataFrame([{"key": BEST, "r2_holdout": _float(metrics["best"]["r2_holdout"]),
                              "r2_oof": _float(metrics["best"]["r2_oof"])}])

    table = pd.concat([best(a).merge(best(b), on="key", suffixes=("_a", "_b")).assign(what="best"),
                       models(a).merge(models(b), on="key", suffixes=("_a", "_b")).assign(what="model"),
                       baselines(a).merge(baselines(b), on="key", suffixes=("_a", "_b")).assign(what="baseline")],
                      ignore_index=True)
    table["delta_r2_holdout"] = table["r2_holdout_b"] - table["r2_holdout_a"]
    table["delta_r2_oof"] = table["r2_oof_b"] - table["r2_oof_a"]
    return table[["key", "what", "r2_holdout_a", "r2_holdout_b", "delta_r2_holdout",
                  "r2_oof_a", "r2_oof_b", "delta_r2_oof"]]

