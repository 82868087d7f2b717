"""Honest scores for every model of every layer, beside the baselines a twin must beat.

Hold-out scores use only rows no model trained on; out-of-fold scores use each training row's prediction
from the fold that did not see it. The baselines are computed on the same rows and depend on the twin's kind:
a reconstruction twin must beat the identity; a behavioural twin, which reads neither overall nor the identity,
must beat a linear model on the other cores (fitted on the training rows), and is never compared with the identity.
Every model's prediction interval (twin_core.intervals, calibrated on out-of-fold residuals) is scored on the
hold-out beside its nominal level: the share of rows it covers and its mean width.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

from twin_core.config import IntervalSpec
from twin_core.features import identity_estimate
from twin_core.intervals import Calibration, calibrate, coverage
from twin_core.telemetry import SESSION, TIMESTAMP, WORKLOAD, Telemetry
from twin_core.verdicts import block_rows, r2_gain_interval, verdict

def identity_formula(n_cores: int | None = None) -> str:
    """The identity written the one way every view writes it: with the data's core count ('8·overall − Σ other
    cores') where the data is known, 'N·overall − Σ other cores' where no data is."""
    return f"{'N' if n_cores is None else n_cores}·overall − Σ other cores"


def baseline_label(name: str, n_cores: int | None = None) -> str:
    """A baseline's label (BASELINES), the identity's with the data's core count when it is known."""
    return f"identity {identity_formula(n_cores)} (clipped 0–100)" if name == "identity" else BASELINES[name]


BASELINES = {  # every baseline's label; which ones a run has depends on its kind (BASELINES_BY_KIND)
    "identity": f"identity {identity_formula()} (clipped 0–100)",
    "persistence": "persistence: previous sample of the target (uses the target's own history)",
    "mean": "training mean of the target",
    "linear_others": "linear model on the other cores, fit on training rows",
}
BASELINES_BY_KIND = {"reconstruction": ("identity", "persistence", "mean"),
                     "behavioural": ("mean", "persistence", "linear_others")}
REFERENCE_BY_KIND = {"reconstruction": "identity", "behavioural": "linear_others"}  # what layer 1 must beat


def score_text(value: float | None, spec: str = ".3f") -> str:
    """A score for people: formatted with `spec`, or "n/a" when it could not be measured (R² of a constant
    target is NaN in memory and null in metrics.json), so no view crashes on or prints "nan"; a value that rounds
    to zero reads without a sign."""
    if value is None or not np.isfinite(float(value)):
        return "n/a"
    text = format(float(value), spec)
    return text.lstrip("+-") if not text.strip("+-0.") else text  # a signed zero ("-0.000", "+0.000") reads 0.000


def scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R², MAE and RMSE on the rows where both values are finite (their count is `n`)."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    ok = np.isfinite(actual) & np.isfinite(predicted)
    a, p = actual[ok], predicted[ok]
    if len(a) == 0:
        return {"r2": float("nan"), "mae": float("nan"), "rmse": float("nan"), "n": 0}
    residual = a - p
    total = float(((a - a.mean()) ** 2).sum())
    r2 = 1.0 - float((residual ** 2).sum()) / total if total > 0 else float("nan")
    return {"r2": r2, "mae": float(np.abs(residual).mean()), "rmse": float(np.sqrt((residual ** 2).mean())),
            "n": int(len(a))}


def baseline_predictions(telemetry: Telemetry, rows: np.ndarray, train_rows: np.ndarray,
                         kind: str = "reconstruction") -> pd.DataFrame:
    """The reference predictions of a twin of this kind for `rows`, one column per name of BASELINES_BY_KIND:
    identity, persistence (same session only), training mean, and a ridge on the other cores' current values
    fitted on `train_rows` only."""
    frame = telemetry.frame
    target = frame[telemetry.target].to_numpy(dtype=float)
    columns = {}
    for name in BASELINES_BY_KIND[kind]:
        if name == "identity":
            columns[name] = np.clip(identity_estimate(telemetry), 0.0, 100.0)[rows]
        elif name == "persistence":
            sessions = frame[SESSION].to_numpy()
            previous = np.r_[np.nan, target[:-1]]
            previous[np.r_[True, sessions[1:] != sessions[:-1]]] = np.nan
            columns[name] = previous[rows]
        elif name == "mean":
            columns[name] = np.full(len(rows), target[train_rows].mean())
        else:
            others = frame[list(telemetry.other_cores)].to_numpy(dtype=float)
            ridge = Ridge(alpha=1.0).fit(others[train_rows], target[train_rows])
            columns[name] = ridge.predict(others[rows])
    return pd.DataFrame(columns, index=rows)


def kind_sentence(kind: str, target: str, r2_holdout: float | None, n_cores: int,
                  identity_r2: float | None = None) -> str:
    """One sentence of what the twin's kind means and how good it is on this data, for every view of a run; a
    reconstruction twin's R² is said beside the identity's own, so the arithmetic's share is never credited to it.
    Every R² is given as the headline cards give it (score_text, 3 decimals), so sentence and cards agree."""
    if kind == "behavioural":
        if r2_holdout is None or not np.isfinite(r2_holdout):
            how = f"here their share of {target}'s variation could not be measured (it does not vary on the hold-out)"
        elif r2_holdout <= 0:
            how = f"here they explain none of {target}'s variation on the hold-out (R² {score_text(r2_holdout)})"
        else:
            how = (f"here they explain {100 * r2_holdout:.0f} % of {target}'s variation on the hold-out "
                   f"(R² {score_text(r2_holdout)})")
        return (f"Behavioural twin: reads the other cores and the workload, never cpu_util_overall or {target} "
                f"itself; {how}.")
    return (f"Reconstruction twin: reads cpu_util_overall, from which the identity {identity_formula(n_cores)} "
            f"gives {target} by arithmetic (hold-out R²: the identity alone {score_text(identity_r2)}, the "
            f"twin {score_text(r2_holdout)}); good to fill in or check a core, not to say how it behaves.")


def model_key(layer: int, name: str) -> str:
    """Column name of a model's predictions in the predictions frame."""
    return f"L{layer}:{name}"


def model_key_parts(key: str) -> tuple[int, str] | None:
    """(layer, name) of a model key like 'L2:meta-ridge' (model_key's inverse); None for a baseline name."""
    head, _, name = key.partition(":")
    if name and head.startswith("L") and head[1:].isdigit():
        return int(head[1:]), name
    return None


BASELINE_WORDS = {"identity": "identity baseline", "persistence": "persistence baseline",
                  "mean": "training-mean baseline", "linear_others": "linear baseline"}  # beside an R², in words


def model_words(key: str) -> str:
    """A model or baseline key in words, `L2:top-ridge` → 'layer 2 · top-ridge', `linear_others` → 'linear
    baseline', for legends, captions and tables a person reads."""
    parts = model_key_parts(key)
    return BASELINE_WORDS.get(key, key) if parts is None else f"layer {parts[0]} · {parts[1]}"


INTERVAL_WORDS = {  # the interval tables' columns in words, with their help (Results page and report)
    "model": ("model", "A model of the stack, named by its layer and name."),
    "nominal_pct": ("nominal level (%)", "The share of rows the interval is built to cover, calibrated on the model's "
                                         "out-of-fold residuals of training rows only."),
    "coverage_pct": ("hold-out coverage (%)", "The share of hold-out rows whose actual value lies inside the "
                                              "interval. Near the nominal level, the interval can be trusted."),
    "mean_width": ("mean width (points)", "Upper minus lower bound in percentage points of utilisation, averaged "
                                          "over the hold-out rows: the narrower, the more the interval says."),
    "coverage_oof_pct": ("out-of-fold coverage (%)", "The same share on training rows: each session's earlier half "
                                                     "of out-of-fold rows calibrates its later half and back. It "
                                                     "never reads the hold-out, so the default method is chosen "
                                                     "by it."),
    "n_calibration": ("rows calibrated on", "Training rows with an out-of-fold prediction of this model."),
    "coverage_model": ("interval coverage, best model", "The share of the group's hold-out rows inside the best "
                                                        "model's interval."),
    "width_model": ("interval width, best model (points)", "The best model's mean interval width over the group's "
                                                           "hold-out rows."),
}


@dataclass
class Evaluation:
    """Every score a run reports. `predictions` holds the hold-out rows: actual, every model, baselines."""

    models: pd.DataFrame
    baselines: pd.DataFrame
    layer_gain: pd.DataFrame
    by_session: pd.DataFrame
    by_workload: pd.DataFrame
    predictions: pd.DataFrame
    best: dict
    target: str = "target"
    kind: str = "reconstruction"
    kind_sentence: str = ""
    interval: dict = field(default_factory=dict)  # {"nominal", "method"} of the bands; empty for a run without
    calibration: Calibration | None = None  # what the trained twin carries; None for a run read back from the store

    def baseline_r2(self, name: str) -> float:
        """Hold-out R² of a baseline (a name of BASELINES); NaN if the run has none by that name."""
        return _baseline_r2(self.baselines, name)

    def residuals(self, key: str) -> pd.Series:
        return self.predictions["actual"] - self.predictions[key]

    def has_band(self, key: str) -> bool:
        """Whether the hold-out predictions carry the model's interval (runs trained before intervals do not)."""
        return f"lower {key}" in self.predictions and bool(self.predictions[f"lower {key}"].notna().any())

    def interval_table(self) -> pd.DataFrame:
        """Every model's interval beside its nominal level: hold-out coverage and mean width, in percent and points
        (INTERVAL_WORDS); empty for a run without intervals."""
        if not self.interval or "coverage_holdout" not in self.models:
            return pd.DataFrame(columns=list(INTERVAL_WORDS)[:6])
        models = self.models
        return pd.DataFrame({"model": [model_words(k) for k in models["key"]],
                             "nominal_pct": 100 * float(self.interval["nominal"]),
                             "coverage_pct": 100 * pd.to_numeric(models["coverage_holdout"]).astype(float),
                             "mean_width": pd.to_numeric(models["mean_width_holdout"]).astype(float),
                             "coverage_oof_pct": 100 * pd.to_numeric(models.get("coverage_oof", np.nan)).astype(float),
                             "n_calibration": models["n_calibration"]})

    def interval_words(self, key: str) -> str:
        """The band of a model in words, coverage beside the nominal level: '90 % interval (covers 91.2 % of
        hold-out rows)'; empty when the model has none."""
        row = self.models.loc[self.models["key"] == key]
        if not self.interval or row.empty or "coverage_holdout" not in row or not self.has_band(key):
            return ""
        covered = row["coverage_holdout"].iloc[0]
        return (f"{100 * self.interval['nominal']:.0f} % interval (covers "
                f"{score_text(None if covered is None else 100 * covered, '.1f')} % of hold-out rows)")


def evaluate_run(
    telemetry: Telemetry,
    test_rows: np.ndarray,
    train_rows: np.ndarray,
    holdout_layers: list[pd.DataFrame],
    oof_layers: list[pd.DataFrame],
    kinds: list[list[str]],
    *,
    twin_kind: str,
    seed: int,
    lookback: int,
    intervals: IntervalSpec | None = None,
) -> Evaluation:
    """Score every model (hold-out and OOF) and the baselines of the twin's kind; pick the best model by its OOF R².

    `kinds` are the models' estimator kinds per layer; `twin_kind` is the run's kind (TWIN_KINDS). The run's `seed`
    and the features' `lookback` set the layer verdicts' block bootstrap (reproducible, blocks of block_rows(lookback)).
    With `intervals`, every model is calibrated on its out-of-fold residuals, the hold-out predictions gain
    `lower <key>` and `upper <key>` (float32) and the models table its hold-out coverage and mean width.
    """
    frame = telemetry.frame
    actual_test = frame[telemetry.target].to_numpy(dtype=float)[test_rows]
    actual_train = frame[telemetry.target].to_numpy(dtype=float)[train_rows]
    predictions = pd.DataFrame({
        "row": test_rows, TIMESTAMP: frame[TIMESTAMP].to_numpy()[test_rows],
        SESSION: frame[SESSION].to_numpy()[test_rows], WORKLOAD: frame[WORKLOAD].to_numpy()[test_rows],
        "actual": actual_test})
    records = []
    calibration = None if intervals is None else calibrate(
        telemetry, train_rows, {model_key(depth, name): oof[name].to_numpy()
                                for depth, oof in enumerate(oof_layers, start=1) for name in oof.columns},
        nominal=intervals.nominal, method=intervals.method)
    bands = {} if calibration is None else calibration.bands_for(
        telemetry, test_rows, {model_key(depth, name): hold[name].to_numpy()
                               for depth, hold in enumerate(holdout_layers, start=1) for name in hold.columns})
    for depth, (hold, oof) in enumerate(zip(holdout_layers, oof_layers), start=1):
        for m, name in enumerate(hold.columns):
            key = model_key(depth, name)
            predictions[key] = hold[name].to_numpy()
            h = scores(actual_test, predictions[key])
            o = scores(actual_train, oof[name].to_numpy())
            records.append({"layer": depth, "name": name, "kind": kinds[depth - 1][m], "key": key,
                            "r2_holdout": h["r2"], "mae_holdout": h["mae"], "rmse_holdout": h["rmse"],
                            "r2_oof": o["r2"], "mae_oof": o["mae"], "rmse_oof": o["rmse"], "n_oof": o["n"],
                            "n_without_oof": int(len(actual_train) - o["n"])})
            if key in bands:
                predictions[f"lower {key}"], predictions[f"upper {key}"] = bands[key]
                covered, width, _ = coverage(actual_test, *bands[key])
                covered_oof, width_oof = calibration.oof_check[key]
                records[-1].update(coverage_holdout=covered, mean_width_holdout=width, coverage_oof=covered_oof,
                                   mean_width_oof=width_oof, n_calibration=calibration.n_calibration[key])
    models = pd.DataFrame.from_records(records)
    base = baseline_predictions(telemetry, test_rows, train_rows, twin_kind)
    base_records = []
    for name in base.columns:
        predictions[name] = base[name].to_numpy()
        s = scores(actual_test, predictions[name])
        base_records.append({"name": name, "label": baseline_label(name, telemetry.n_cores), "r2_holdout": s["r2"],
                             "mae_holdout": s["mae"], "rmse_holdout": s["rmse"], "n": s["n"]})
    baselines = pd.DataFrame.from_records(base_records)
    best_row = models.loc[models["r2_oof"].fillna(-np.inf).idxmax()]
    best = {"layer": int(best_row["layer"]), "name": str(best_row["name"]), "key": str(best_row["key"]),
            "r2_holdout": float(best_row["r2_holdout"]), "r2_oof": float(best_row["r2_oof"]),
            "selected_by": "out-of-fold R² on training rows"}
    reference = REFERENCE_BY_KIND[twin_kind]
    gains = layer_gain(models, baselines, predictions, reference, seed=seed, block=block_rows(lookback))
    return Evaluation(models=models, baselines=baselines, layer_gain=gains,
                      by_session=grouped_scores(predictions, SESSION, best["key"], reference),
                      by_workload=grouped_scores(predictions, WORKLOAD, best["key"], reference),
                      predictions=predictions, best=best, target=telemetry.target, kind=twin_kind,
                      kind_sentence=kind_sentence(twin_kind, telemetry.target, best["r2_holdout"], telemetry.n_cores,
                                                  _baseline_r2(baselines, "identity")),
                      interval={} if intervals is None else {"nominal": intervals.nominal, "method": intervals.method},
                      calibration=calibration)


def _baseline_r2(baselines: pd.DataFrame, name: str) -> float:
    """A baseline's hold-out R² from a baselines table, NaN when the run has no such baseline."""
    row = baselines.loc[baselines["name"] == name, "r2_holdout"]
    return float(row.iloc[0]) if len(row) else float("nan")


def layer_gain(models: pd.DataFrame, baselines: pd.DataFrame, predictions: pd.DataFrame, reference: str = "identity",
               *, seed: int, block: int) -> pd.DataFrame:
    """Does each layer pay? Its best model (by OOF R²) against the layer below; layer 1 against the `reference`
    baseline (the identity for a reconstruction twin, the linear model on the other cores for a behavioural one).

    A layer pays only when the 95 % block-bootstrap interval of its hold-out R² gain (twin_core.verdicts, blocks of
    `block` rows within sessions of the hold-out `predictions`, seeded by `seed`) lies above 0; it costs when the
    interval lies below 0, and is within noise otherwise. An R² that cannot be measured (None or NaN: a constant
    target) gives a NaN gain, no interval and the verdict n/a.
    """
    rows, below_h, below_o, below_key = [], None, None, reference
    models = models.assign(r2_holdout=pd.to_numeric(models["r2_holdout"]), r2_oof=pd.to_numeric(models["r2_oof"]))
    first_ref = pd.to_numeric(baselines.set_index("name")["r2_holdout"]).get(reference, np.nan)
    ordered = predictions.sort_values([SESSION, "row"], kind="stable")  # time order within each session
    for depth, group in models.groupby("layer", sort=True):
        best = group.loc[group["r2_oof"].fillna(-np.inf).idxmax()]
        ref_h = first_ref if below_h is None else below_h
        gain_h = float(best["r2_holdout"]) - ref_h
        gain_o = float("nan") if below_o is None else float(best["r2_oof"]) - below_o
        key = model_key(int(depth), str(best["name"]))
        interval = None if not np.isfinite(gain_h) or below_key not in ordered else r2_gain_interval(
            ordered["actual"], ordered[key], ordered[below_key], ordered[SESSION].to_numpy(), block=block, seed=seed)
        rows.append({"layer": int(depth), "best_model": best["name"], "r2_holdout": float(best["r2_holdout"]),
                     "r2_oof": float(best["r2_oof"]),
                     "compared_with": model_words(reference) if below_h is None else f"layer {int(depth) - 1}",
                     "gain_holdout": gain_h, "gain_oof": gain_o,
                     "gain_ci95": None if interval is None else list(interval), "verdict": verdict(interval),
                     "pays": verdict(interval) == "pays"})
        below_h, below_o, below_key = float(best["r2_holdout"]), float(best["r2_oof"]), key
    return pd.DataFrame.from_records(rows)


def grouped_scores(predictions: pd.DataFrame, by: str, key: str, reference: str = "identity") -> pd.DataFrame:
    """R² and MAE per session or per workload for the chosen model and the `reference` baseline (columns
    `r2_<reference>`, `mae_<reference>`), and the hold-out coverage and mean width of the model's interval where
    the predictions carry it (`coverage_model`, `width_model`)."""
    out = []
    banded = f"lower {key}" in predictions
    for value, group in predictions.groupby(by, sort=True):
        model, ref = scores(group["actual"], group[key]), scores(group["actual"], group[reference])
        out.append({by: value, "rows": len(group), "r2_model": model["r2"], "mae_model": model["mae"],
                    f"r2_{reference}": ref["r2"], f"mae_{reference}": ref["mae"]})
        if banded:
            covered, width, _ = coverage(group["actual"], group[f"lower {key}"], group[f"upper {key}"])
            out[-1].update(coverage_model=covered, width_model=width)
    return pd.DataFrame.from_records(out)


def residual_autocorrelation(residuals: pd.Series, sessions: pd.Series, max_lag: int = 30) -> pd.DataFrame:
    """Autocorrelation of residuals at lags 1..max_lag, pairs taken within a session only."""
    r = residuals.to_numpy(dtype=float) - np.nanmean(residuals)
    s = sessions.to_numpy()
    var = np.nanmean(r ** 2)
    values = []
    for lag in range(1, max_lag + 1):
        same = s[lag:] == s[:-lag]
        values.append(float(np.nanmean(r[lag:][same] * r[:-lag][same]) / var) if same.any() and var > 0 else np.nan)
    return pd.DataFrame({"lag": np.arange(1, max_lag + 1), "autocorrelation": values})
