"""The product's words for a run, shared by the app's pages and the HTML report so both say the same thing: the
twin's kind in words and chart titles, the split named beside every R², the headline cards and their gain over the
baseline, the sentences that keep a number from being misread (why persistence is no bar, why a session's R² is
lower, when the hold-out is harder than the folds, why a gain can pass +1), table headers, the layer verdicts in
words, the data named by its files, and the glossary of every term of art. Written once here, never in a page.

Pure text (no Streamlit): the app's `ui` modules import these, and so does `twin_core.report`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from twin_core.evaluate import (BASELINE_WORDS, BASELINES, REFERENCE_BY_KIND, Evaluation, baseline_label,
                                identity_formula, model_words, score_text)
from twin_core.runs import FinishedRun
from twin_core.verdicts import gain_text, signed_text



def kind_reads(kind: str, n_cores: int | None = None) -> str:
    """What a twin of this kind reads, the identity written with the data's core count when it is known
    (evaluate.identity_formula), so every view writes it the way the kind sentence does."""
    if kind == "reconstruction":
        return (f"reads cpu_util_overall, from which the identity {identity_formula(n_cores)} nearly gives the target "
                "by arithmetic: good to fill in or check a core.")
    return ("reads the other cores and the workload, never cpu_util_overall or the target itself: it has learned how "
            "the target behaves given the rest of the machine.")


REFERENCE_CARDS = {  # the baseline a twin of each kind must beat: its metric card's label, the delta's word, help
    "identity": ("Identity R²", "identity",
                 "The identity baseline: the target core computed from the overall utilisation and the other "
                 "cores by arithmetic, clipped to 0–100: what the aggregate alone says."),
    "linear_others": ("Linear R²", "linear", "The linear baseline: a ridge on the other cores' current values, "
                                             "fitted on the training rows only."),
}
PERSISTENCE_WORDS = ("each sample predicted by the target core's own previous sample, which no twin reads; its R² "
                     "measures how smooth the core is from one sample to the next, not a bar the twin must beat.")


def files_label(names: tuple[str, ...]) -> str:
    """Data files in a few words, named after them (never by a path on someone's machine): `a.parquet`, or
    `a.parquet + 6 more files`; the app's data label and the CLI's report say the same."""
    more = len(names) - 1
    return names[0] if more == 0 else f"{names[0]} + {more} more file{'s' if more > 1 else ''}"


def kind_title(kind: str) -> str:
    """How a twin's kind is named on every page and chart: 'Reconstruction twin' or 'Behavioural twin'."""
    return f"{kind.capitalize()} twin"


GLOSSARY = {  # plain words for every term of art the app and the report show, as tooltips or a list
    "R²": "R² (coefficient of determination): the share of the target core's variation that the predictions "
          "explain. 1 is perfect, 0 is no better than always predicting the average, below 0 is worse than that.",
    "hold-out": "Hold-out: rows kept out of training and used only once, to score the twin on data it never "
                "trained on. Time-ordered, so the twin never learns from the future it is scored on.",
    "out-of-fold": "Out-of-fold (OOF): each training row predicted by a model fitted without it, on time-ordered "
                   "folds. The best model is chosen by its out-of-fold R², so the hold-out stays unseen until the "
                   "final score.",
    "baseline": "Baseline: a simple prediction with little or no learning that the twin must beat to be worth "
                "anything.",
    "identity": f"Identity baseline: {BASELINES['identity']}, the target core computed from the overall "
                "utilisation by arithmetic alone.",
    "linear_others": f"Linear baseline: {BASELINES['linear_others']}, the simplest model of the target given the "
                     "rest of the machine.",
    "reconstruction": f"{kind_title('reconstruction')}: {kind_reads('reconstruction')}",
    "behavioural": f"{kind_title('behavioural')}: {kind_reads('behavioural')}",
    "stack": "Stack: models in layers. Layer 1 reads the features; each layer above learns from the out-of-fold "
             "predictions of the layer below. The twin's answer is the best model of any layer.",
    "layer": "Layer: one level of the stack, a few models side by side; a layer is worth keeping only when its best "
             "model beats the layer below.",
    "meta-learner": "Meta-learner: a model of layer 2 or above. It reads the out-of-fold predictions of the layer "
                    "below and learns how far to trust each of them.",
    "passthrough": "Passthrough: a layer above the first also reads the original features, not only the "
                   "predictions of the layer below.",
    "persistence": f"Persistence baseline: {PERSISTENCE_WORDS}",
    "MAE": "MAE (mean absolute error): the average distance between prediction and actual, in percentage points.",
    "RMSE": "RMSE (root mean squared error): like MAE, in percentage points, but large misses weigh more.",
    "purge gap": "Purge gap: rows dropped between the training rows and the rows they are scored on, as many as "
                 "the longest look-back (window or lag), so no scored row's windows or lags reach into training rows.",
}


def titled_by_kind(fig: go.Figure, kind: str) -> go.Figure:
    """The figure with its title led by the twin's kind, so a chart seen alone still says which twin drew it."""
    return fig.update_layout(title_text=f"{kind_title(kind)} · {fig.layout.title.text}")


def split_caption(result: FinishedRun) -> str:
    """Hold-out and CV of a run, to sit next to every R² it reports."""
    text = f"Hold-out: {result.split.description} · OOF: {result.cv_description}"
    return f"⚠️ LEAKY protocol — {text}" if result.config.leaky else text


def rows_caption(result: FinishedRun) -> str:
    """How many rows the hold-out, training and purge gap hold, with the split named: the headline's caption."""
    counts = result.split.counts()
    return (f"{counts['test']:,} hold-out rows ({counts['train']:,} training rows, {counts['gap']:,} dropped as "
            f"purge gap) · {split_caption(result)}")


def reference_r2(metrics: dict) -> float | None:
    """Hold-out R² of the baseline a run's kind must beat, from its metrics.json dict (None when null or absent)."""
    return metrics["baselines"].get(REFERENCE_BY_KIND[metrics["kind"]], {}).get("r2_holdout")


def reference_gain(metrics: dict) -> tuple[str, float]:
    """The baseline a run's kind must beat and the best model's hold-out R² gain over it (NaN when either score is
    null), from a metrics.json dict: one computation for a run of this session and a run read back from the store."""
    best, base = metrics["best"]["r2_holdout"], reference_r2(metrics)
    return REFERENCE_BY_KIND[metrics["kind"]], float("nan") if best is None or base is None else best - base


NOTEBOOK_PROTOCOL = "the original notebook's protocol"  # the seed notebook's leaky split and folds, named the same
NOTEBOOK_TOGGLE = f"{NOTEBOOK_PROTOCOL[0].upper()}{NOTEBOOK_PROTOCOL[1:]} (windows across sessions, leaky)"
LEAKY_WARNING = ("This run used a LEAKY protocol (random hold-out and/or shuffled folds on a time series): its scores "
                 "overstate what the twin does on new data.")
HOLDOUT_HARDER_BY = 0.1  # an out-of-fold R² this far above the hold-out's is worth a sentence


@dataclass(frozen=True)
class Gain:
    """A gain in words ("+0.012 vs identity") and which way it points: "up", "down", or "off" when it rounds to 0."""

    text: str
    direction: str


@dataclass(frozen=True)
class HeadlineCard:
    """One headline number as the Results page, the Overview and the report show it."""

    label: str
    value: str
    help: str
    gain: Gain | None = None


def gain_over_reference(result: FinishedRun) -> Gain | None:
    """The best model's hold-out R² gain over the baseline its kind must beat, e.g. "+0.012 vs identity" (a gain that
    rounds to zero reads "0.000 vs identity" and points nowhere); None when it cannot be measured (no arrow is better
    than a misleading one)."""
    return gain_against(*reference_gain(result.metrics))


def gain_against(reference: str, gain: float | None) -> Gain | None:
    """An R² gain over a reference baseline as a card's delta ("+0.012 vs identity"); None when not measured."""
    if gain is None or not np.isfinite(gain):
        return None
    text = signed_text(gain)
    direction = "up" if text.startswith("+") else "down" if text.startswith("−") else "off"
    return Gain(f"{text} vs {REFERENCE_CARDS[reference][1]}", direction)


def headline_cards(result: FinishedRun) -> list[HeadlineCard]:
    """The four headline numbers: the best model's hold-out R² (with its gain over the baseline its kind must beat),
    its out-of-fold R², that baseline's R², and persistence's, which is no bar (see GLOSSARY["persistence"])."""
    evaluation = result.evaluation
    best = evaluation.best
    reference = REFERENCE_BY_KIND[result.config.kind]
    label, _, about = REFERENCE_CARDS[reference]
    return [
        HeadlineCard("Best R² (hold-out)", score_text(best["r2_holdout"]),
                     f"The best model, {model_words(best['key'])}, of this {kind_title(result.config.kind).lower()} "
                     f"on the hold-out rows; chosen by {best['selected_by']}.\n\n{GLOSSARY['R²']}\n\n"
                     f"{GLOSSARY['hold-out']}\n\n{GLOSSARY['out-of-fold']}", gain_over_reference(result)),
        HeadlineCard("Best R² (OOF)", score_text(best["r2_oof"]), GLOSSARY["out-of-fold"]),
        HeadlineCard(label, score_text(evaluation.baseline_r2(reference)), f"{about}\n\n{GLOSSARY['baseline']}"),
        HeadlineCard("Persistence R²", score_text(evaluation.baseline_r2("persistence")), GLOSSARY["persistence"]),
    ]


def persistence_caption(evaluation: Evaluation) -> str:
    """Why the persistence card's high R² is not the bar the twin must beat, said beside the headline."""
    return f"Persistence R² {score_text(evaluation.baseline_r2('persistence'))}: {PERSISTENCE_WORDS}"


def holdout_harder_note(evaluation: Evaluation) -> str | None:
    """When the best model's out-of-fold R² is well above its hold-out R², that the hold-out is the honest figure;
    None otherwise."""
    best = evaluation.best
    if not best["r2_oof"] - best["r2_holdout"] > HOLDOUT_HARDER_BY:  # False for NaN too
        return None
    return (f"The best model's out-of-fold R² ({score_text(best['r2_oof'])}) is well above its hold-out R² "
            f"({score_text(best['r2_holdout'])}): the hold-out rows are harder to predict than the training folds "
            "suggest, and the hold-out R² is the honest figure for new data.")


SESSION_R2_NOTE = ("A session's R² is measured against that session's own mean, so a twin whose skill is telling "
                   "workloads apart scores lower within a session than overall, even below 0.")
VERDICT_HEADER = "hold-out R² gain [95 % interval] · verdict"  # the "Does each layer pay?" answer column
OOF_GAIN_WORDS = ("R² gain, out-of-fold", "The same gain on the training rows, each predicted by a model that did "
                                         "not see it; layer 1 has none (a baseline has no out-of-fold score).")
SCORE_WORDS = {  # the score columns of the model and baseline tables: header and help, on Results and in the report
    "r2_holdout": ("R² hold-out", GLOSSARY["hold-out"]), "r2_oof": ("R² out-of-fold", GLOSSARY["out-of-fold"]),
    "mae_holdout": ("MAE hold-out", GLOSSARY["MAE"]), "rmse_holdout": ("RMSE hold-out", GLOSSARY["RMSE"]),
    "mae_oof": ("MAE out-of-fold", GLOSSARY["MAE"]), "rmse_oof": ("RMSE out-of-fold", GLOSSARY["RMSE"])}


def group_score_words(reference: str) -> dict[str, tuple[str, str]]:
    """The columns of the per-session and per-workload tables (evaluate.grouped_scores) in words, with their help."""
    name = model_words(reference)
    return {"rows": ("hold-out rows", GLOSSARY["hold-out"]), "r2_model": ("R², best model", GLOSSARY["R²"]),
            f"r2_{reference}": (f"R², {name}", GLOSSARY[reference]), "mae_model": ("MAE, best model", GLOSSARY["MAE"]),
            f"mae_{reference}": (f"MAE, {name}", GLOSSARY["MAE"])}


def verdict_caption(result: FinishedRun) -> str:
    """What the "Does each layer pay?" table compares and how its verdict is read, with the split named."""
    reference = REFERENCE_BY_KIND[result.config.kind]
    label = baseline_label(reference, len(result.model.core_columns))
    return ("Each layer's best model (by out-of-fold R²) against the layer below; layer 1 against the "
            f"{BASELINE_WORDS[reference]} ({label}). The hold-out gain comes with its 95 % interval "
            "(a bootstrap over time blocks within sessions): a layer **pays** only when the whole interval is above 0, "
            "**costs** when it is below 0, and is **within noise** otherwise. " + _gain_above_one(result)
            + split_caption(result))


def _gain_above_one(result: FinishedRun) -> str:
    """Why an interval may reach above +1 (it looks impossible for an R²), when one does; empty otherwise."""
    gains = result.evaluation.layer_gain
    bounds = [*gains["gain_holdout"], *(hi for ci in gains["gain_ci95"] if ci is not None for hi in ci)]
    if not any(np.isfinite(b) and round(b, 3) > 1 for b in bounds):
        return ""
    return ("A gain above +1 is possible: R² has no lower bound, and when the layer below scores below 0 (worse than "
            "predicting the average) in some resamples, the gain over it can exceed 1. ")


def verdict_text(gain: float | None, interval: list[float] | None, verdict: str) -> str:
    """A layer's hold-out gain, its 95 % interval and its verdict in one cell, e.g. "+0.003 [−0.001, +0.007] · within
    noise"."""
    return f"{gain_text(gain, interval)} · {verdict}"


def best_not_top_note(evaluation: Evaluation) -> str | None:
    """Why the headline's model is not the top layer's (models are chosen by out-of-fold R², never by the
    hold-out), or None when it is the top layer's."""
    gains = evaluation.layer_gain
    top_layer = int(gains["layer"].max())
    if evaluation.best["layer"] == top_layer:
        return None
    top = gains.set_index("layer").loc[top_layer]
    top_r2, best_r2 = score_text(top["r2_holdout"]), score_text(evaluation.best["r2_holdout"])
    holdout = (f"; on the hold-out both score {best_r2}." if top_r2 == best_r2 else
               f", so the top layer's bar shows a hold-out R² of {top_r2} where the headline shows {best_r2}.")
    return (f"The headline's model, {model_words(evaluation.best['key'])}, is not in the top layer: models are "
            f"chosen by their out-of-fold R² on the training rows ({score_text(evaluation.best['r2_oof'])} against "
            f"{score_text(top['r2_oof'])} for layer {top_layer}'s {top['best_model']}), never by the hold-out"
            + holdout)


COVERAGE_OFF_BY = 5.0  # a band's hold-out coverage this many points from its nominal level is worth a sentence


def coverage_note(nominal: float, coverage: float | None, anomalies: bool = False) -> tuple[str, str] | None:
    """What a band's hold-out `coverage` (a share) against its `nominal` level (a share) means for its reader, as
    (level, sentence): ('warning', …) when it covers more than COVERAGE_OFF_BY points less, ('info', …) when more;
    None when near nominal or not measured. `anomalies` adds what a short band means for episodes."""
    if coverage is None or not np.isfinite(coverage):
        return None
    off = 100 * (coverage - nominal)
    said = f"{100 * nominal:.0f} % band covers {100 * coverage:.1f} % of the hold-out rows"
    if off < -COVERAGE_OFF_BY:
        episodes = (" Many episodes may therefore mark where the twin is weak rather than where the machine "
                    "misbehaved." if anomalies else "")
        return "warning", (f"The band is too narrow: the twin's {said}, {-off:.1f} points below its level, so "
                           f"it misses the actual value more often than it says.{episodes}")
    if off > COVERAGE_OFF_BY:
        return "info", (f"The band is wider than needed: the twin's {said}, {off:.1f} points above its level, "
                        "so it says less than it could.")
    return None


def best_band_note(evaluation: Evaluation, anomalies: bool = False) -> tuple[str, str] | None:
    """coverage_note for the run's best model's band on its hold-out rows; None for a run without bands."""
    row = evaluation.models.loc[evaluation.models["key"] == evaluation.best["key"]]
    if not evaluation.interval or row.empty or "coverage_holdout" not in row:
        return None
    covered = row["coverage_holdout"].iloc[0]
    return coverage_note(float(evaluation.interval["nominal"]), None if covered is None else float(covered), anomalies)


def below_reference_note(rows: list[dict], best: dict | None, reference: str) -> str | None:
    """A sweep whose winner's hold-out R² is below its reference baseline's on the same rows, in one sentence: every
    run when none beats it, else the winner; None when the winner beats it or either is not measured. `rows` are
    sweep.kept_rows' ("r2_holdout", "baselines")."""
    below = [r["r2_holdout"] < r["baselines"][reference] for r in rows if _scored(r, reference)]
    if best is None or not _scored(best, reference) or best["r2_holdout"] >= best["baselines"][reference]:
        return None
    who = "Every run scores" if all(below) else "The winner scores"
    return (f"{who} below the {model_words(reference)} on the hold-out: {score_text(best['r2_holdout'])} against "
            f"{score_text(best['baselines'][reference])}. The winner is only the best of this grid, not a twin worth "
            "using.")


def _scored(row: dict, reference: str) -> bool:
    """Whether a sweep row has both its hold-out R² and its reference baseline's measured."""
    values = (row.get("r2_holdout"), row.get("baselines", {}).get(reference))
    return all(v is not None and np.isfinite(v) for v in values)
