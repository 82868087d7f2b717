"""A run's report to hand out: one self-contained HTML file that opens offline in any browser.

Why one file: a director opens it from a mail or a USB stick, with no app and no network. So Plotly's JavaScript is
inlined once in the head and every figure is drawn by it (no CDN, no MathJax, no web font), the CSS is inline and
plain, and no element loads anything from another host. The numbers and words are those of the Results page: the
same figure builders (twin_core.plots), the same formatting (evaluate.score_text, verdicts.gain_text) and the same
sentences (twin_core.wording). Every string a user chose (run name, data label, model names, workloads) is escaped.

Content, in order: the headline (kind sentence, the Results page's four cards with why persistence is no bar, split
and gap in words), the stack, per-layer R² (chart and tables) with the layer verdicts, the traces and residuals, R²
per session and per workload, the data (named by its files, never by a path on the author's machine) and
configuration, the words used, then when and with which versions it was made.
"""
from __future__ import annotations

import html
import platform
import re
from datetime import UTC, datetime
from importlib import metadata
from typing import Protocol

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

import twin_core
import pandas as pd

from twin_core.evaluate import (BASELINES, BASELINES_BY_KIND, INTERVAL_WORDS, REFERENCE_BY_KIND, model_words,
                                score_text)
from twin_core.plots import layer_r2_figure, residual_figures, stack_diagram, trace_figure
from twin_core.runs import FinishedRun
from twin_core.telemetry import SESSION, WORKLOAD
from twin_core.verdicts import gain_text
from twin_core.wording import (GLOSSARY, LEAKY_WARNING, OOF_GAIN_WORDS, SCORE_WORDS, SESSION_R2_NOTE, VERDICT_HEADER,
                               HeadlineCard, best_not_top_note, group_score_words, headline_cards, holdout_harder_note,
                               kind_title, persistence_caption, rows_caption, split_caption, titled_by_kind,
                               verdict_caption, verdict_text)

FIGURE_HEIGHT_PX = 480  # a figure without its own height; tall enough for the legend under a time axis
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}  # no "made with Plotly" link to an outside site
VERSIONS_OF = ("plotly", "pandas", "numpy", "scikit-learn", "lightgbm")
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2328;
       max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; line-height: 1.45; }
h1 { font-size: 1.9em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #d0d7de; }
.lead { font-size: 1.1em; } .muted { color: #57606a; font-size: 0.92em; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 8px; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 16px; min-width: 200px; flex: 1 1 200px; }
.card .label { color: #57606a; font-size: 0.9em; } .card .value { font-size: 1.8em; font-weight: 600; }
.card .delta { font-size: 0.92em; }
table { border-collapse: collapse; margin: 10px 0 14px; font-size: 0.94em; max-width: 100%; }
td { overflow-wrap: anywhere; }  /* a fingerprint or a long name wraps instead of widening the page */
th, td { border-bottom: 1px solid #d0d7de; padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.figure { margin: 8px 0 20px; overflow-x: auto; }
details pre { background: #f6f8fa; padding: 12px; overflow-x: auto; font-size: 0.85em; }
li { margin: 4px 0; } .pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
.pair > .figure { min-width: 0; } .delta.up { color: #1a7f37; } .delta.down { color: #cf222e; }
.delta.off { color: #57606a; }
"""


class ReportedRun(FinishedRun, Protocol):
    """What a report reads of a finished run beyond the store's needs (pipeline.TrainResult is one)."""

    core_columns: tuple[str, ...]
    data_rows: int
    data_sessions: int
    notes: list[str]


def _text(value: object) -> str:
    """Any value as escaped HTML text."""
    return html.escape(str(value))


def _words(text: str) -> str:
    """A sentence of twin_core.wording (which marks emphasis **so**) as escaped HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", _text(text))


def _figure(fig: go.Figure, div_id: str) -> str:
    """One figure as a div drawn by the inlined Plotly.js (which this div does not load again)."""
    body = pio.to_html(fig, full_html=False, include_plotlyjs=False, include_mathjax=False, config=PLOTLY_CONFIG,
                       div_id=div_id, default_height=f"{FIGURE_HEIGHT_PX}px")
    return f'<div class="figure">{body}</div>'


def _pair(figures: dict[str, go.Figure], names: tuple[str, str], kind: str) -> str:
    """Two residual views side by side on a wide screen (one above the other on a narrow one), as on Results."""
    return ('<div class="pair">' + "".join(_figure(titled_by_kind(figures[name], kind), f"residual-{name}")
                                           for name in names) + "</div>")


def _table(header: list[str], rows: list[list[str]], numbers: set[int]) -> str:
    """A plain table of escaped cells; the columns in `numbers` are right-aligned."""
    head = "".join(f"<th>{_text(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="number">{_text(c)}</td>' if i in numbers else f"<td>{_text(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _card(card: HeadlineCard) -> str:
    """One headline number with its label and, when measured, its gain over the reference (coloured by its direction;
    a gain that rounds to zero is not coloured)."""
    gain = card.gain
    delta_html = f'<div class="delta {gain.direction}">{_text(gain.text)}</div>' if gain else ""
    return (f'<div class="card" title="{_text(card.help)}"><div class="label">{_text(card.label)}</div>'
            f'<div class="value">{_text(card.value)}</div>{delta_html}</div>')


def _group_table(frame: pd.DataFrame, by: str, title: str, reference: str) -> str:
    """R² and MAE per session or per workload (evaluate.grouped_scores) with the Results page's column words."""
    words = group_score_words(reference)
    columns = [c for c in words if c in frame.columns]
    rows = [[str(record[by]), *(f"{record[c]:,}" if c == "rows" else
                                score_text(record[c], ".3f" if c.startswith("r2") else ".2f") for c in columns)]
            for record in frame.to_dict("records")]
    return _table([title, *(words[c][0] for c in columns)], rows, set(range(1, len(columns) + 1)))


def _headline(result: ReportedRun, run_name: str) -> str:
    """Run name, kind sentence, the four cards of the Results page and the rows and split in words."""
    evaluation = result.evaluation
    best = evaluation.best
    parts = [f"<h1>Run {_text(run_name)}</h1>",
             f'<p class="muted">{_text(kind_title(result.config.kind))} of {_text(result.target)} · configuration '
             f"{_text(result.config.name)}</p>",
             f'<p class="lead">{_text(evaluation.kind_sentence)}</p>']
    if result.config.leaky:
        parts.append(f'<p class="warning">{_text(LEAKY_WARNING)}</p>')
    parts.append('<div class="cards">' + "".join(_card(card) for card in headline_cards(result)) + "</div>")
    parts.append(f'<p class="muted">{_text(persistence_caption(evaluation))}</p>')
    if (harder := holdout_harder_note(evaluation)) is not None:
        parts.append(f"<p>{_text(harder)}</p>")
    parts.append(f"<p>Best model <b>{_text(model_words(best['key']))}</b>, chosen by {_text(best['selected_by'])}, "
                 "scored on the hold-out rows it never saw.</p>")
    parts.append(f'<p class="muted">{_text(rows_caption(result))}</p>')
    parts.extend(f'<p class="muted">Note: {_text(note)}</p>' for note in result.notes)
    return "\n".join(parts)


def _layer_tables(result: ReportedRun) -> str:
    """Every model's and baseline's scores, formatted as the Results page formats them."""
    evaluation = result.evaluation
    models = [[str(m["layer"]), m["name"], m["kind"], score_text(m["r2_holdout"]), score_text(m["r2_oof"]),
               score_text(m["mae_holdout"], ".2f"), score_text(m["rmse_holdout"], ".2f")]
              for m in evaluation.models.to_dict("records")]
    baselines = [[b["name"], b["label"], score_text(b["r2_holdout"]), score_text(b["mae_holdout"], ".2f"),
                  score_text(b["rmse_holdout"], ".2f")] for b in evaluation.baselines.to_dict("records")]
    scores = [SCORE_WORDS[key][0] for key in ("r2_holdout", "r2_oof", "mae_holdout", "rmse_holdout")]
    return (_table(["layer", "model", "kind", *scores], models, {0, 3, 4, 5, 6})
            + "<p>Baselines on the same hold-out rows:</p>"
            + _table(["baseline", "what it predicts", scores[0], *scores[2:]], baselines, {2, 3, 4}))


def _groups(result: ReportedRun) -> str:
    """The Results page's R² per session and per workload: the best model against the reference baseline."""
    evaluation = result.evaluation
    reference = REFERENCE_BY_KIND[result.config.kind]
    return (f'<p class="muted">Best model {_text(model_words(evaluation.best["key"]))} against the '
            f"{_text(model_words(reference))} on the hold-out rows of each group. {_text(SESSION_R2_NOTE)}</p>"
            + _group_table(evaluation.by_session, SESSION, "session", reference)
            + _group_table(evaluation.by_workload, WORKLOAD, "workload", reference))


def _intervals(result: ReportedRun) -> str:
    """Every model's prediction interval, its hold-out coverage beside the nominal level, and the best model's
    coverage per session and per workload; a sentence instead for a run kept before intervals."""
    evaluation = result.evaluation
    table = evaluation.interval_table()
    if table.empty:
        return "<p>This run was trained before runs had prediction intervals: it has no band to show.</p>"
    rows = [[r["model"], f"{r['nominal_pct']:.0f}", score_text(r["coverage_pct"], ".1f"),
             score_text(r["mean_width"], ".2f"), score_text(r["coverage_oof_pct"], ".1f"),
             f"{int(r['n_calibration']):,}"] for r in table.to_dict("records")]
    groups = ""
    for frame, by, title in ((evaluation.by_session, SESSION, "session"), (evaluation.by_workload, WORKLOAD,
                                                                            "workload")):
        if "coverage_model" in frame:
            groups += _table([title, "hold-out rows", INTERVAL_WORDS["coverage_model"][0] + " (%)",
                              INTERVAL_WORDS["width_model"][0]],
                             [[str(g[by]), f"{g['rows']:,}", score_text(100 * g["coverage_model"], ".1f"),
                               score_text(g["width_model"], ".2f")] for g in frame.to_dict("records")], {1, 2, 3})
    return (f'<p class="muted">Method {_text(evaluation.interval["method"])}: calibrated on each model\'s '
            "out-of-fold residuals of training rows only; the hold-out rows only check it.</p>"
            + _table([INTERVAL_WORDS[c][0] for c in table.columns], rows, {1, 2, 3, 4, 5}) + groups)


def _verdicts(result: ReportedRun) -> str:
    """The "Does each layer pay?" table with each layer's gain, interval and verdict, and why the headline's model
    may not be the top layer's."""
    evaluation = result.evaluation
    rows = [[str(g["layer"]), g["best_model"], verdict_text(g["gain_holdout"], g["gain_ci95"], g["verdict"]),
             gain_text(g["gain_oof"], None), g["compared_with"]]
            for g in evaluation.layer_gain.to_dict("records")]
    note = best_not_top_note(evaluation)
    return (f'<p class="muted">{_words(verdict_caption(result))}</p>'
            + _table(["layer", "best model", VERDICT_HEADER, OOF_GAIN_WORDS[0], "compared with"], rows, {0, 3})
            + (f"<p>{_text(note)}</p>" if note else ""))


def _data_and_config(result: ReportedRun, data_label: str) -> str:
    """Which data the twin learned from (rows, sessions, cores, fingerprint) and its whole configuration."""
    return (_table(["data", "rows", "sessions", "cores", "target", "fingerprint"],
                   [[data_label, f"{result.data_rows:,}", f"{result.data_sessions:,}", str(len(result.core_columns)),
                     result.target, result.data_fingerprint]], {1, 2, 3})
            + "<details><summary>Run configuration (JSON): everything that, with the data above, reproduces the "
              f"run</summary><pre>{_text(result.config.to_json())}</pre></details>")


def _glossary(kind: str) -> str:
    """The glossary's entries (each opens with its term) for the terms this report uses."""
    terms = ["R²", "MAE", "RMSE", "hold-out", "out-of-fold", "baseline", REFERENCE_BY_KIND[kind], "persistence", kind,
             "stack", "layer"]
    return "<ul>" + "".join(f"<li>{_text(GLOSSARY[term])}</li>" for term in terms) + "</ul>"


def _versions() -> str:
    """The library versions that made the report, so a reader can tell which product said what."""
    versions = [f"Digital Twin Studio {twin_core.__version__}", f"Python {platform.python_version()}"]
    versions += [f"{name} {metadata.version(name)}" for name in VERSIONS_OF]
    return ", ".join(versions)


def build_report(result: ReportedRun, run_name: str, data_label: str) -> str:
    """The run's report as one self-contained HTML document (Plotly.js inline once, nothing fetched from any host),
    showing the numbers and words of the Results page; written by `train --out` and downloaded from Results."""
    evaluation = result.evaluation
    kind = result.config.kind
    reference = REFERENCE_BY_KIND[kind]
    best = evaluation.best["key"]
    residuals = residual_figures(evaluation, best)
    sections = [
        _headline(result, run_name),
        "<h2>The stack</h2>",
        _figure(titled_by_kind(stack_diagram(result.config, evaluation, run_name), kind), "stack"),
        "<h2>Per-layer R²</h2>",
        _figure(titled_by_kind(layer_r2_figure(evaluation, result.split.description, result.cv_description), kind),
                "layer-r2"),
        _layer_tables(result),
        "<h2>Does each layer pay?</h2>",
        _verdicts(result),
        "<h2>Predicted against actual over time</h2>",
        _figure(titled_by_kind(trace_figure(evaluation, [best, reference]), kind), "trace"),
        f'<p class="muted">{_text(split_caption(result))}</p>',
        "<h2>Prediction intervals</h2>",
        _intervals(result),
        f"<h2>Residuals of {_text(model_words(best))}</h2>",
        _pair(residuals, ("vs_predicted", "histogram"), kind),
        _figure(titled_by_kind(residuals["over_time"], kind), "residual-over_time"),
        _pair(residuals, ("by_workload", "autocorrelation"), kind),
        "<h2>R² per session and per workload</h2>",
        _groups(result),
        "<h2>Data and configuration</h2>",
        _data_and_config(result, data_label),
        "<h2>Words used in this report</h2>",
        _glossary(kind),
        f'<p class="muted">Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by {_text(_versions())}. Baselines: '
        + "; ".join(_text(BASELINES[name]) for name in BASELINES_BY_KIND[kind]) + ".</p>",
    ]
    title = f"Run {run_name} · {kind_title(kind)} report"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_text(title)}</title>\n<style>{STYLE}</style>\n"
            "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
            f"<script>{get_plotlyjs()}</script>\n</head>\n<body>\n" + "\n".join(sections) + "\n</body>\n</html>\n")
