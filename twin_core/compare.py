"""Side-by-side views of runs: what differs in their configs (setting names in words), how their scores moved and
whether each move is beyond the noise (a block bootstrap on the hold-out rows both runs share), and which runs cannot
be compared at all because a leaky split inflated their scores."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from twin_core.config import RunConfig
from twin_core.evaluate import REFERENCE_BY_KIND, model_key, model_words, score_text
from twin_core.models import MODEL_KINDS
from twin_core.runs import FinishedRun
from twin_core.telemetry import SESSION
from twin_core.verdicts import block_rows, r2_gain_interval, signed_text, verdict
from twin_core.wording import NOTEBOOK_PROTOCOL, NOTEBOOK_TOGGLE, REFERENCE_CARDS, reference_gain, reference_r2

ABSENT = "(absent)"
BEST = "best model (by OOF R²)"
BEST_WORDS = "best model (chosen by out-of-fold R²)"
SETTING_WORDS = {  # every setting outside the feature sets and the models, by its path, in the Model page's words
    "name": "Run name", "description": "Description", "target": "Target core", "kind": "Twin kind",
    "seed": "Random seed", "seed_compatible": NOTEBOOK_TOGGLE,
    "split.kind": "Hold-out · rows held out", "split.test_fraction": "Hold-out · share of rows held out",
    "split.gap": "Hold-out · purge gap (rows)", "split.test_sessions": "Hold-out · sessions held out",
    "split.seed": "Hold-out · shuffle seed",
    "stack.cv.kind": "Folds · how rows are folded", "stack.cv.n_splits": "Folds · number of folds",
    "stack.cv.gap": "Folds · purge gap (rows)", "stack.cv.seed": "Folds · shuffle seed",
    "stack.refit": "Final models (refit or fold average)", "stack.n_jobs": "Fits in parallel",
    "stack.max_fit_rows": "Rows a fit reads (at most)",
    "intervals.nominal": "Prediction intervals · level", "intervals.method": "Prediction intervals · width",
    "anomalies.min_samples": "Anomalies · samples outside the band (at least)",
}
FEATURE_SET_WORDS = {"name": "name", "windows_include_current": "windows include now"}  # fields without a widget label
MODEL_WORDS = {"name": "name", "kind": "estimator", "feature_set": "feature set read", "file": "model file"}
AUTOMATIC = {"split.gap", "stack.cv.gap", "stack.n_jobs", "split.test_sessions"}  # None means "chosen for you"


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


def _lower_first(words: str) -> str:
    return words[:1].lower() + words[1:]


def _param_words(name: str) -> str:
    """A model parameter in the words of its help (`n_estimators` → 'number of boosting rounds / trees')."""
    helps = [kind.params[name].help for kind in MODEL_KINDS.values() if name in kind.params]
    return f"{helps[0] if helps else MODEL_WORDS.get(name, name.replace('_', ' '))}"


def setting_name(path: str, feature_words: Mapping[str, str]) -> str:
    """A config path in words, e.g. `feature_sets[0].overall_windows` → 'Feature set 1 · overall windows (rows)';
    `feature_words` names a feature set's fields (the Model page's widget labels), so both pages say the same."""
    if path in SETTING_WORDS:
        return SETTING_WORDS[path]
    found = re.fullmatch(r"feature_sets\[(\d+)\]\.(\w+)", path)
    if found and (found[2] in feature_words or found[2] in FEATURE_SET_WORDS):
        words = feature_words.get(found[2]) or FEATURE_SET_WORDS[found[2]]
        return f"Feature set {int(found[1]) + 1} · {_lower_first(words)}"
    found = re.fullmatch(r"stack\.layers\[(\d+)\]\.(passthrough|models\[(\d+)\]\.(params\.)?(\w+))", path)
    if found and found[2] == "passthrough":
        return f"Layer {int(found[1]) + 1} · also reads the original features"
    if found and (found[4] or found[5] in MODEL_WORDS):
        words = _param_words(found[5]) if found[4] else MODEL_WORDS[found[5]]
        return f"Layer {int(found[1]) + 1} · model {int(found[3]) + 1} · {words}"
    return path


def _show(path: str, value: object, value_words: Mapping[str, Mapping[str, str]]) -> str:
    """One display form for any setting, in words a person reads (a single type per column, Arrow-friendly)."""
    if value in value_words.get(path, {}):
        return value_words[path][value]
    if value is None:
        return ("automatic" if path in AUTOMATIC else "layer below" if path.endswith(".feature_set")
                else "every row" if path == "stack.max_fit_rows" else "none")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if re.search(r"models\[\d+\]\.kind$", path) and value in MODEL_KINDS:
        return MODEL_KINDS[value].label
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "none"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def config_diff(a: RunConfig, b: RunConfig, feature_words: Mapping[str, str],
                value_words: Mapping[str, Mapping[str, str]] | None = None) -> pd.DataFrame:
    """The settings that differ (columns path, setting in words by `setting_name`, a, b as text); `value_words`
    names the choices of a setting by its path (the Model page's option labels); a setting only one side has shows
    `ABSENT`."""
    flat_a, flat_b = flatten_config(a), flatten_config(b)
    words = value_words or {}
    paths = list(flat_a) + [p for p in flat_b if p not in flat_a]
    rows = [{"path": p, "setting": setting_name(p, feature_words),
             "a": _show(p, flat_a[p], words) if p in flat_a else ABSENT,
             "b": _show(p, flat_b[p], words) if p in flat_b else ABSENT}
            for p in paths if p not in flat_a or p not in flat_b or flat_a[p] != flat_b[p]]
    return pd.DataFrame(rows, columns=["path", "setting", "a", "b"])


def leak_causes(metrics: dict) -> list[str]:
    """Why a run's scores are inflated, in words (empty for an honest run); `metrics` is a metrics.json dict."""
    split = metrics.get("split", {})
    causes = [cause for flag, cause in ((split.get("leaky"), "random hold-out rows"),
                                        (split.get("cv", {}).get("leaky"), "shuffled folds"),
                                        (split.get("seed_compatible"), NOTEBOOK_PROTOCOL)) if flag]
    return causes or (["a leaky split"] if metrics.get("leaky") else [])


def leaky_pair_note(runs: list[tuple[str, dict]]) -> str | None:
    """Why the R² change between these (label, metrics) runs is neither a gain nor a loss, naming each run scored
    on a leaky split; None when every run is honest."""
    leaky = [f"**{label}** ({', '.join(causes)})" for label, metrics in runs if (causes := leak_causes(metrics))]
    if not leaky:
        return None
    were = "was" if len(leaky) == 1 else "were"
    return (f"Not comparable: {' and '.join(leaky)} {were} scored on a leaky split. Neighbours of the rows it is "
            "scored on were in training, so its R² is inflated and a change against it is neither an improvement "
            "nor a loss. Train it again with the per-session tail hold-out and time-blocked folds to compare it.")


def saved_scores(metrics: list[dict]) -> pd.DataFrame:
    """Beside the run store's summary of saved runs (one metrics.json dict each, in its order): the hold-out R² of
    the baseline of each run's own kind (`reference_r2`, as the runs of this session show it) and the seconds its
    training took (`train_seconds`: features, fits and scoring, the figure every page shows for a run)."""
    return pd.DataFrame({"reference_r2": [reference_r2(m) for m in metrics],
                         "train_seconds": [m["seconds"].get("total") for m in metrics]})


def against_own_baseline(runs: list[tuple[str, dict]]) -> pd.DataFrame:
    """(label, metrics.json dict) runs of different kinds, or a pair with a run scored on a leaky split, one row each
    against the baseline of its own kind (all as text, short enough to read on one line at 1280 px): no change from
    one run to the other, since it would be no gain or loss."""
    rows = []
    for label, metrics in runs:
        reference, gain = reference_gain(metrics)
        rows.append({"run": label, "kind": metrics["kind"], "split": "leaky" if leak_causes(metrics) else "honest",
                     "best R²": score_text(metrics["best"]["r2_holdout"]),
                     "best R² OOF": score_text(metrics["best"]["r2_oof"]),
                     "baseline": REFERENCE_CARDS[reference][1],
                     "baseline R²": score_text(reference_r2(metrics)),
                     "gain": "n/a" if math.isnan(gain) else signed_text(gain)})
    return pd.DataFrame(rows).set_index("run")


def runs_table(results: list[tuple[str, FinishedRun]]) -> pd.DataFrame:
    """One row per run: what it was, how it was split, its best model against the baseline of its kind (identity or
    linear, `reference_r2`) and persistence, and its cost (`train_seconds`: features, fits and scoring)."""
    rows = []
    for label, result in results:
        counts, best = result.split.counts(), result.evaluation.best
        rows.append({
            "label": label, "name": result.config.name, "split": result.split.description,
            "cv": result.cv_description, "rows_train": counts["train"], "rows_gap": counts["gap"],
            "rows_test": counts["test"], "best_model": best["key"], "best_r2_holdout": best["r2_holdout"],
            "best_r2_oof": best["r2_oof"], "kind": result.config.kind,
            "reference_r2": result.evaluation.baseline_r2(REFERENCE_BY_KIND[result.config.kind]),
            "persistence_r2": result.evaluation.baseline_r2("persistence"),
            "train_seconds": result.seconds["total"], "leaky": result.config.leaky})
    return pd.DataFrame(rows)


def _float(value: object) -> float:
    """A metrics.json score as a float: `null` (a score that could not be computed) becomes NaN."""
    return float("nan") if value is None else float(value)


def _row_name(key: str, what: str) -> str:
    """A row of the deltas table in words: 'best model (chosen by out-of-fold R²)', 'layer 2 · top-ridge',
    'identity baseline'."""
    return BEST_WORDS if what == "best" else model_words(key)


def metric_deltas_from_metrics(a: dict, b: dict) -> pd.DataFrame:
    """R² of each run's best model (`BEST`, whichever it is), of every model both runs have (matched by layer and
    name) and of the baselines, with delta = b − a and each row's name in words; `a`, `b` are metrics.json dicts
    (`TrainResult.metrics`, `RunStore.metrics`) of honest runs: a leaky run's change is no gain (ValueError)."""
    if leak_causes(a) or leak_causes(b):
        raise ValueError("A run scored on a leaky split has an inflated R²: its change is neither a gain nor a loss.")

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
    table["name"] = [_row_name(key, what) for key, what in zip(table["key"], table["what"])]
    table["delta_r2_holdout"] = table["r2_holdout_b"] - table["r2_holdout_a"]
    table["delta_r2_oof"] = table["r2_oof_b"] - table["r2_oof_a"]
    return table[["key", "name", "what", "r2_holdout_a", "r2_holdout_b", "delta_r2_holdout",
                  "r2_oof_a", "r2_oof_b", "delta_r2_oof"]]


def _noise_unmeasured(a: dict, predictions_a: pd.DataFrame, b: dict, predictions_b: pd.DataFrame) -> str | None:
    """Why the noise of a pair's changes cannot be measured, in words; None when it can."""
    if a["data_fingerprint"] != b["data_fingerprint"]:
        return "the runs were trained on different data"
    if any("row" not in p.columns or "actual" not in p.columns or p.empty for p in (predictions_a, predictions_b)):
        return "a run's hold-out predictions are not available"
    if not set(predictions_a["row"]) & set(predictions_b["row"]):
        return "the runs share no hold-out rows"
    return None


def change_noise(deltas: pd.DataFrame, a: dict, predictions_a: pd.DataFrame, b: dict, predictions_b: pd.DataFrame,
                 *, seed: int) -> tuple[pd.DataFrame, str]:
    """The `metric_deltas_from_metrics` table with the 95 % interval of each hold-out R² change (`ci_low`, `ci_high`,
    NaN where not measured), and the chart's note on how the noise was measured or why it was not.

    A change means something only beyond the noise: on the hold-out rows both runs share (matched by row id), the
    interval of R²(B) − R²(A) comes from the same block bootstrap as the layer verdicts (twin_core.verdicts, blocks
    of the longer look-back of the two, seeded by `seed`), for the best model and every model whose predictions both
    runs hold. Baselines get none: they are references, not something a run improved, and their R² moves only with
    the rows held out. `a`, `b` are the runs' metrics.json dicts, `predictions_a`, `predictions_b` their hold-out
    predictions."""
    low, high = np.full(len(deltas), np.nan), np.full(len(deltas), np.nan)
    why = _noise_unmeasured(a, predictions_a, b, predictions_b)
    if why is not None:
        return deltas.assign(ci_low=low, ci_high=high), f"noise not measured: {why}"
    shared = (predictions_a[["row", SESSION, "actual"]].merge(predictions_b[["row"]], on="row")
              .sort_values([SESSION, "row"], kind="stable"))  # time order within each session
    on_a, on_b = (p.set_index("row").loc[shared["row"]] for p in (predictions_a, predictions_b))
    block = block_rows(max(a.get("lookback_rows", 0), b.get("lookback_rows", 0)))
    best_a, best_b = (model_key(m["best"]["layer"], m["best"]["name"]) for m in (a, b))
    for i, (key, what) in enumerate(zip(deltas["key"], deltas["what"])):
        key_a, key_b = (best_a, best_b) if what == "best" else (key, key)
        if what == "baseline" or key_a not in on_a.columns or key_b not in on_b.columns:
            continue
        interval = r2_gain_interval(shared["actual"], on_b[key_b], on_a[key_a], shared[SESSION].to_numpy(),
                                    block=block, seed=seed)
        # each change is R² on its run's own hold-out: an interval from the shared rows that does not even hold it
        # measures another change (hold-outs that differ a lot), so it says nothing about this one
        if interval is not None and interval[0] <= deltas["delta_r2_holdout"].iloc[i] <= interval[1]:
            low[i], high[i] = interval
    held = "" if len(predictions_a) == len(predictions_b) == len(shared) else (
        f" (A held out {len(predictions_a):,}, B {len(predictions_b):,}; a change outside its interval there: not "
        "measured)")
    return (deltas.assign(ci_low=low, ci_high=high),
            f"noise: 95 % block-bootstrap interval on the {len(shared):,} hold-out rows both runs share{held}")


def change_text(delta: float | None, low: float | None = None, high: float | None = None) -> str:
    """A change of R² for people, with what its interval says: "−0.001, within noise", "+0.020, beyond noise", only
    "−0.001" when the noise was not measured, "n/a" when the change itself was not; never "−0.000"."""
    if not _finite(delta):
        return "n/a"
    if not (_finite(low) and _finite(high)):
        return signed_text(delta)
    return f"{signed_text(delta)}, {'beyond noise' if beyond_noise(delta, low, high) else 'within noise'}"


def beyond_noise(delta: float, low: float | None, high: float | None) -> bool:
    """Whether a change is larger than the noise: it reads other than 0.000 and its whole 95 % interval lies on the
    side of 0 the change is on (the layer verdicts' rule, twin_core.verdicts.verdict)."""
    if not (_finite(delta) and _finite(low) and _finite(high)) or signed_text(delta) == signed_text(0.0):
        return False
    return verdict((low, high)) == ("pays" if delta > 0 else "costs")


def _finite(value: float | None) -> bool:
    return value is not None and value is not pd.NA and bool(np.isfinite(float(value)))
