"""The run's report to hand out: the Results page's numbers and verdicts, one copy of Plotly.js, nothing loaded from
another host, every user-chosen string escaped."""
from __future__ import annotations

import html
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from plotly.offline import get_plotlyjs

from twin_core.evaluate import model_words
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.report import build_report
from twin_core.wording import best_not_top_note, rows_caption, verdict_text

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


def _weak_top(config):
    """The configuration with its top ridge held near the mean (the strongest regularisation allowed), so the best
    model by out-of-fold R² is in layer 1, not the top layer."""
    top = config.stack.layers[-1]
    weak = replace(top, models=(replace(top.models[0], params={"alphas": (1e6,)}),))
    return replace(config, stack=replace(config.stack, layers=(*config.stack.layers[:-1], weak)))


@pytest.fixture(scope="module", params=["quick", "behavioural-quick", "quick with a weak top"])
def reported(request, demo_telemetry):
    """A quick training of each kind on small demo data, with an HTML-looking model name, and its report; the third
    has a top layer too weak to be the best."""
    config = get_preset(request.param.removesuffix(" with a weak top"))
    if request.param.endswith("weak top"):
        config = _weak_top(config)
    first = config.stack.layers[0]
    renamed = replace(first, models=(replace(first.models[0], name=MODEL_NAME), *first.models[1:]))
    config = replace(config, stack=replace(config.stack, layers=(renamed, *config.stack.layers[1:])))
    result = train_twin(demo_telemetry, config)
    return result, build_report(result, RUN_NAME, DATA_LABEL)


def _cell_texts(report: str) -> list[str]:
    """The text of every table cell of the report, unescaped."""
    return [html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", report)]


def test_headline_has_the_four_cards_with_their_numbers_and_why_persistence_is_no_bar(reported):
    result, report = reported
    evaluation = result.evaluation
    reference = "identity" if result.config.kind == "reconstruction" else "linear_others"
    label = "Identity R²" if reference == "identity" else "Linear R²"  # the baseline its kind must beat
    cards = re.findall(r'<div class="label">(.*?)</div><div class="value">(.*?)</div>', report)
    assert cards == [("Best R² (hold-out)", f"{evaluation.best['r2_holdout']:.3f}"),
                     ("Best R² (OOF)", f"{evaluation.best['r2_oof']:.3f}"),
                     (label, f"{evaluation.baseline_r2(reference):.3f}"),
                     ("Persistence R²", f"{evaluation.baseline_r2('persistence'):.3f}")]
    gain = evaluation.best["r2_holdout"] - evaluation.baseline_r2(reference)
    direction, text = re.search(r'<div class="delta (\w+)">(.*?)</div>', report).groups()
    assert text == f"{gain:+.3f} vs {label.split()[0].lower()}".replace("-", "−")
    assert direction == ("up" if gain > 0 else "down")
    assert html.escape(f"Persistence R² {evaluation.baseline_r2('persistence'):.3f}: each sample predicted by the "
                       "target core's own previous sample, which no twin reads") in report
    assert html.escape(evaluation.kind_sentence) in report
    assert f"the twin {evaluation.best['r2_holdout']:.3f}" in evaluation.kind_sentence \
        or f"(R² {evaluation.best['r2_holdout']:.3f})" in evaluation.kind_sentence  # as the card says it
    assert html.escape(rows_caption(result)) in report  # rows, split and purge gap in words
    harder = evaluation.best["r2_oof"] - evaluation.best["r2_holdout"] > 0.1
    assert ("is well above its hold-out R²" in report) == harder
    assert f"Best model <b>{html.escape(model_words(evaluation.best['key']))}</b>" in report


def test_no_gain_shows_minus_zero_or_a_hyphen_minus(reported):
    _, report = reported
    verdicts = report.split("<h2>Does each layer pay?</h2>")[1].split("</table>")[0]
    rows = [_cell_texts(row) for row in verdicts.split("<tr>")[2:]]  # after the header row
    gains = [cell for row in rows for cell in row[2:4]]  # the hold-out gain with its interval, the out-of-fold gain
    assert len(gains) == 2 * len(rows) > 0
    assert not any("−0.000" in c or "+0.000" in c or re.search(r"-\d", c) for c in gains)
    assert "−0.000 vs" not in report and "-0.000 vs" not in report


def test_r2_per_session_and_per_workload_are_tabled_in_the_results_page_words(reported):
    result, report = reported
    evaluation = result.evaluation
    reference = "identity baseline" if result.config.kind == "reconstruction" else "linear baseline"
    for header in ("session", "workload", "hold-out rows", "R², best model", f"R², {reference}", "MAE, best model"):
        assert f"<th>{html.escape(header)}</th>" in report
    cells = _cell_texts(report)
    for row in evaluation.by_session.to_dict("records"):
        assert f"{row['r2_model']:.3f}" in cells and f"{row['rows']:,}" in cells
    assert set(evaluation.by_workload["workload_type"]) <= set(cells)
    assert html.escape("measured against that session's own mean") in report


def test_every_models_interval_is_reported_with_its_coverage_beside_the_nominal_level(reported):
    result, report = reported
    section = report.split("<h2>Prediction intervals</h2>")[1].split("<h2>")[0]
    cells = _cell_texts(section)
    for model in result.metrics["models"]:
        assert model_words(f"L{model['layer']}:{model['name']}") in cells
        assert f"{100 * model['interval']['coverage_holdout']:.1f}" in cells
    assert cells.count("90") == len(result.metrics["models"])  # the nominal level beside every coverage
    for row in result.evaluation.by_workload.to_dict("records"):
        assert f"{100 * row['coverage_model']:.1f}" in cells
    assert "trained before runs had prediction intervals" in build_report(
        replace(result, evaluation=replace(result.evaluation, interval={})), RUN_NAME, DATA_LABEL)


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
    if result.config.stack.layers[-1].models[0].params == {"alphas": (1e6,)}:  # the weak top: the note must be there
        assert result.evaluation.best["layer"] == 1 and "is not in the top layer" in note


def test_plotly_js_is_inlined_once_and_draws_every_figure(reported):
    _, report = reported
    assert report.count(get_plotlyjs()) == 1
    assert report.count('class="plotly-graph-div"') == 8  # stack, per-layer R², trace, five residual views
    assert report.count("Plotly.newPlot(") == 8
    assert "Stack of run '&lt;script&gt;alert(1)&lt;\\u002fscript&gt;'" in report  # the run's name, as in the headline


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


def test_a_weak_top_says_why_a_gain_passes_one_and_that_the_hold_out_is_the_honest_figure(demo_telemetry):
    result = train_twin(demo_telemetry, _weak_top(get_preset("behavioural-quick")))
    best, gains = result.evaluation.best, result.evaluation.layer_gain
    assert best["r2_oof"] - best["r2_holdout"] > 0.1  # this data and config: the hold-out is much harder
    assert max(hi for _, hi in gains["gain_ci95"]) > 1  # the top over a layer 1 below 0 in some resamples
    report = html.unescape(build_report(result, RUN_NAME, DATA_LABEL))
    assert (f"out-of-fold R² ({best['r2_oof']:.3f}) is well above its hold-out R² ({best['r2_holdout']:.3f})"
            in report) and "the hold-out R² is the honest figure" in report
    assert "A gain above +1 is possible" in report


@pytest.mark.parametrize(("top_r2", "says"), [
    (0.9651, "; on the hold-out both score 0.965."),  # the same at 3 decimals: no "can differ" where none is seen
    (0.58, ", so the top layer's bar shows a hold-out R² of 0.580 where the headline shows 0.965."),
])
def test_the_best_below_the_top_note_says_whether_the_two_hold_out_r2_differ(reported, top_r2, says):
    evaluation = reported[0].evaluation
    top = int(evaluation.layer_gain["layer"].max())
    gains = evaluation.layer_gain.copy()
    gains.loc[gains["layer"] == top, "r2_holdout"] = top_r2
    below = replace(evaluation, layer_gain=gains, best={**evaluation.best, "layer": top - 1, "r2_holdout": 0.9649})
    assert best_not_top_note(below).endswith(says)
