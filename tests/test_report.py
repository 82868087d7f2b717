"""The run's report to hand out: the Results page's numbers and verdicts, one copy of Plotly.js, nothing loaded from
another host, every user-chosen string escaped."""
from __future__ import annotations

import html
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from plotly.offline import get_plotlyjs

from twin_core.evaluate import model_words, score_text
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.report import build_report
from twin_core.wording import best_not_top_note, gain_over_reference, rows_caption, verdict_text

RUN_NAME = "<script>alert(1)</script>"
DATA_LABEL = "<img src=x onerror=alert(1)> a.parquet"
MODEL_NAME = "<b>ridge & co</b>"  # a model name is any text the user typed in the editor


class _Tags(HTMLParser):
    """Every start tag with its attributes (script and style contents are not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(document: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(document)
    return parser.tags


@pytest.fixture(scope="module", params=["quick", "behavioural-quick"])
def reported(request, demo_telemetry):
    """A quick training of each kind on small demo data, with an HTML-looking model name, and its report."""
    config = get_preset(request.param)
    first = config.stack.layers[0]
    renamed = replace(first, models=(replace(first.models[0], name=MODEL_NAME), *first.models[1:]))
    config = replace(config, stack=replace(config.stack, layers=(renamed, *config.stack.layers[1:])))
    result = train_twin(demo_telemetry, config)
    return result, build_report(result, RUN_NAME, DATA_LABEL)


def test_headline_shows_the_results_page_numbers(reported):
    result, report = reported
    evaluation = result.evaluation
    reference = "identity" if result.config.kind == "reconstruction" else "linear_others"
    cards = [score_text(evaluation.best["r2_holdout"]), score_text(evaluation.best["r2_oof"]),
             score_text(evaluation.baseline_r2(reference)), score_text(evaluation.baseline_r2("persistence"))]
    for value in cards:
        assert f'<div class="value">{value}</div>' in report
    label = "Identity R²" if reference == "identity" else "Linear R²"  # the baseline its kind must beat
    assert f'<div class="label">{label}</div>' in report
    assert gain_over_reference(result).endswith(("vs identity", "vs linear"))
    assert html.escape(gain_over_reference(result)) in report
    assert html.escape(evaluation.kind_sentence) in report
    assert html.escape(rows_caption(result)) in report  # rows, split and purge gap in words
    assert f"Best model <b>{html.escape(model_words(evaluation.best['key']))}</b>" in report


def test_every_layer_verdict_is_shown_with_its_interval_and_why_the_best_is_not_the_top(reported):
    result, report = reported
    gains = result.evaluation.layer_gain
    assert len(gains) == len(result.config.stack.layers)
    for g in gains.to_dict("records"):
        cell = verdict_text(g["gain_holdout"], g["gain_ci95"], g["verdict"])
        assert g["verdict"] in ("pays", "within noise", "costs", "n/a") and cell.endswith(g["verdict"])
        assert f"<td>{html.escape(cell)}</td>" in report
    note = best_not_top_note(result.evaluation)  # said only when the headline's model is below the top layer
    assert (note is None) == (result.evaluation.best["layer"] == len(gains))
    assert note is None or f"<p>{html.escape(note)}</p>" in report


def test_plotly_js_is_inlined_once_and_draws_every_figure(reported):
    _, report = reported
    assert report.count(get_plotlyjs()) == 1
    assert report.count('class="plotly-graph-div"') == 8  # stack, per-layer R², trace, five residual views
    assert report.count("Plotly.newPlot(") == 8


def test_nothing_is_loaded_from_another_host(reported):
    _, report = reported
    tags = _tags(report)
    links = [value for _, attrs in tags for name, value in attrs.items() if name in ("src", "href") and value]
    assert links == []  # no script, image, style sheet or font from anywhere
    assert not any(tag in ("link", "img", "iframe", "object", "embed") for tag, _ in tags)
    outside_plotly = report.replace(get_plotlyjs(), "")
    assert "http://" not in outside_plotly and "https://" not in outside_plotly and "@import" not in outside_plotly


def test_user_strings_are_escaped(reported):
    _, report = reported
    assert RUN_NAME not in report and html.escape(RUN_NAME) in report
    assert "<img" not in report and html.escape(DATA_LABEL) in report
    assert MODEL_NAME not in report and f"<td>{html.escape(MODEL_NAME)}</td>" in report
    assert [tag for tag, _ in _tags(report)].count("script") == 2 + 8  # Plotly's config and code, one per figure


def test_report_size_stays_sane(reported):
    _, report = reported
    assert len(get_plotlyjs()) < len(report.encode()) < len(get_plotlyjs()) + 1_000_000
