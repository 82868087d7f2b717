"""Model page: presets and JSON load into the editor, the composition is editable, invalid ones are refused."""
from __future__ import annotations

import dataclasses
import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import figures, goto, train
from twin_core.config import IntervalSpec, LayerSpec, ModelSpec, RunConfig
from twin_core.features import FeatureSpec
from twin_core.pipeline import parallel_fits
from twin_core.presets import get_preset
from twin_core.wording import GLOSSARY


def key(at: AppTest, *parts: object) -> str:
    """The key of an editor widget in the editor's current generation."""
    return ":".join(["cfg", str(at.session_state["editor_rev"]), *map(str, parts)])


def load_preset(at: AppTest, name: str) -> AppTest:
    """Pick a preset and press Load preset."""
    at.selectbox(key="preset_choice").select(name)
    next(b for b in at.button if b.label == "Load preset").click().run()
    assert not at.exception
    return at


@pytest.fixture
def editor(app: AppTest) -> AppTest:
    """The Model page with the quick preset loaded."""
    return load_preset(goto(app, "model"), "quick")


@pytest.mark.parametrize("preset", ["default", "seed-v3", "quick", "behavioural", "behavioural-quick"])
def test_presets_load_into_the_editor_unchanged(app: AppTest, preset: str) -> None:
    at = load_preset(goto(app, "model"), preset)
    at.run()  # a second run reads every widget back: the config must survive the round trip
    assert at.session_state["config"] == get_preset(preset)
    assert any(f"Loaded preset '{preset}'" in s.value for s in at.success)
    names = [m.name for m in get_preset(preset).stack.layers[0].models]
    assert at.text_input(key=key(at, "m", 1, 0, "name")).value == names[0]
    assert at.radio(key=key(at, "run", "kind")).value == get_preset(preset).kind


def test_composition_is_editable(editor: AppTest) -> None:
    at = editor
    at.button(key=key(at, "l", "add")).click().run()
    at.button(key=key(at, "l", 1, "add")).click().run()
    at.selectbox(key=key(at, "m", 1, 0, "kind")).select("extratrees").run()
    at.number_input(key=key(at, "m", 1, 0, "extratrees", "n_estimators")).set_value(50).run()
    at.toggle(key=key(at, "l", 2, "pt")).set_value(True).run()
    at.button(key=key(at, "m", 1, 1, "remove")).click().run()
    at.text_input(key=key(at, "fs", 0, "ow")).input("5, 20").run()
    at.number_input(key=key(at, "fs", 0, "cl")).set_value(3).run()
    assert not at.exception

    config = at.session_state["config"]
    first, second, third = config.stack.layers
    assert [(m.name, m.kind, m.feature_set) for m in first.models] == [
        ("lgbm", "extratrees", "quick"), ("ridge-1", "ridgecv", "quick")]
    assert first.models[0].params == {"n_estimators": 50}
    assert second.passthrough and not third.passthrough
    assert [m.name for m in third.models] == ["ridge-l3"]
    assert config.feature_sets[0].overall_windows == (5, 20)
    assert config.feature_sets[0].core_lags == 3
    config.validate()
    assert "ready to train: 3 layers · 4 models" in at.success[-1].value
    diagram = figures(at)["stack_preview"]
    assert [t["name"] for t in diagram["data"]] == ["feature sets", "layer 1", "layer 2", "layer 3"]


@pytest.mark.parametrize(("widget", "parts", "value", "message"), [
    ("text_input", ("fs", 0, "ow"), "1", "rolling windows must be at least 2 rows"),
    ("text_input", ("m", 1, 1, "name"), "lgbm", "model names must be non-empty and unique"),
])
def test_invalid_composition_is_refused_before_training(editor: AppTest, widget: str, parts: tuple, value: str,
                                                        message: str) -> None:
    getattr(editor, widget)(key=key(editor, *parts)).input(value).run()
    assert any("cannot be trained yet" in e.value and message in e.value for e in editor.error)

    at = train(editor, "editor")
    assert any("Not started" in e.value and message in e.value for e in at.error)
    assert at.session_state["runs"] == []
    assert "train_job" not in at.session_state


def test_holdout_and_cv_choices_are_labelled_leaky(editor: AppTest) -> None:
    at = editor
    at.radio(key=key(at, "split", "kind")).set_value("random").run()
    at.radio(key=key(at, "cv", "kind")).set_value("kfold").run()
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("LEAKY: neighbours") for w in warnings)
    assert any(w.startswith("LEAKY: shuffled folds") for w in warnings)
    assert "Random rows — LEAKY (the original notebook's protocol)" in at.radio(key=key(at, "split", "kind")).options
    toggle = at.toggle(key=key(at, "run", "seedcompat"))
    assert toggle.label == "The original notebook's protocol (windows across sessions, leaky)"
    assert "reproduces the published numbers of the seed notebook" in toggle.help  # which notebook, said once
    assert at.session_state["config"].leaky
    assert "LEAKY" in at.success[-1].value

    at.radio(key=key(at, "split", "kind")).set_value("whole_sessions").run()
    at.multiselect(key=key(at, "split", "sessions")).set_value([0, 3]).run()
    assert at.session_state["config"].split.test_sessions == (0, 3)


def test_configuration_json_uploads_into_the_editor(editor: AppTest) -> None:
    at = editor
    wanted = dataclasses.replace(get_preset("seed-v3"), name="from-file")
    at.file_uploader(key="config_upload").set_value(("twin.json", wanted.to_json().encode(), "application/json")).run()
    assert at.session_state["config"] == wanted
    assert any("Loaded 'from-file' from twin.json" in s.value for s in at.success)
    assert at.get("download_button")[0].label == "Download JSON"

    at.file_uploader(key="config_upload").set_value(("broken.json", b'{"name": 3', "application/json")).run()
    assert any("broken.json was refused" in e.value and "not valid JSON" in e.value for e in at.error)
    assert at.session_state["config"] == wanted


def test_a_pretrained_base_model_names_its_file_and_is_not_trained_to_be_kept(editor: AppTest) -> None:
    at = editor
    at.selectbox(key=key(at, "m", 1, 0, "kind")).select("pretrained").run()
    at.text_input(key=key(at, "m", 1, 0, "pretrained", "file")).input("lgbm_v2.pkl").run()
    model = at.session_state["config"].stack.layers[0].models[0]
    assert (model.kind, dict(model.params), model.feature_set) == ("pretrained", {"file": "lgbm_v2.pkl"}, "quick")
    assert "ready to train" in at.success[-1].value

    at = train(at, "editor")  # "Keep in the run store" is on: a run the store cannot keep does not start
    assert any("Not started" in e.value and "pre-trained model from the trusted directory" in e.value for e in at.error)
    assert "train_job" not in at.session_state


@pytest.mark.parametrize(("field", "value"), [
    (("split", "test_fraction"), 0.7), (("stack", "cv", "n_splits"), 20), (("feature_sets", 0, "core_lags"), 800),
    (("feature_sets", 0, "min_history"), 9000), (("seed",), 2**32 - 1), (("stack", "n_jobs"), 100),
    (("stack", "max_fit_rows"), 100_000_000), (("stack", "max_fit_rows"), None), (("intervals", "nominal"), 0.925),
    (("anomalies", "min_samples"), 10_000),
])
def test_an_uploaded_config_at_the_limits_loads_unchanged(editor: AppTest, field: tuple, value: object) -> None:
    wanted = get_preset("quick").to_dict()
    node = wanted
    for part in field[:-1]:
        node = node[part]
    node[field[-1]] = value
    body = json.dumps(wanted).encode()
    editor.file_uploader(key="config_upload").set_value(("edge.json", body, "application/json")).run()
    assert not editor.exception
    assert editor.session_state["config"] == RunConfig.from_json(body)


@pytest.mark.parametrize(("text", "message"), [
    ("inf", "'inf' is not a finite number; keeping 5"),
    ("1000000", "overall_windows[0]: rolling windows must be at least 2 rows and at most 100,000"),
])
def test_typed_windows_out_of_range_are_messages(editor: AppTest, text: str, message: str) -> None:
    editor.text_input(key=key(editor, "fs", 0, "ow")).input(text).run()
    assert not editor.exception
    assert any(message in e.value for e in editor.error)


@pytest.mark.parametrize(("widget", "field", "value", "message"), [
    ("number_input", "ol", 3, "feature_sets[0].overall_lags: a behavioural twin reads no feature of cpu_util_overall "
                              "(got 3); set it to 0, or make the twin kind 'reconstruction' (set in: Feature sets "
                              f"tab, set “{get_preset('behavioural-quick').feature_sets[0].name}”, “Overall lag "
                              "depth”)."),
    ("toggle", "id", True, "feature_sets[0].identity: a behavioural twin does not read the identity"),
    ("toggle", "co", True, "feature_sets[0].current_overall: a behavioural twin reads no feature of cpu_util_overall"),
])
def test_a_behavioural_twin_refuses_a_feature_of_overall_and_keeps_it(app: AppTest, widget: str, field: str,
                                                                      value: object, message: str) -> None:
    at = load_preset(goto(app, "model"), "behavioural-quick")
    getattr(at, widget)(key=key(at, "fs", 0, field)).set_value(value).run()
    assert any(e.value.startswith("**This composition cannot be trained yet:** ") and message in e.value
               for e in at.error)
    assert getattr(at, widget)(key=key(at, "fs", 0, field)).value == value  # the editor keeps what was set
    assert at.session_state["config"].kind == "behavioural"

    at = train(at, "editor")
    assert any("Not started" in e.value and message.split(" (set in")[0] in e.value for e in at.error)
    assert at.session_state["runs"] == []


def test_the_kind_selector_makes_a_reconstruction_twin_behavioural(editor: AppTest) -> None:
    at = editor
    assert at.radio(key=key(at, "run", "kind")).options == [
        "Reconstruction: may read overall and the identity", "Behavioural: reads neither overall nor the identity"]
    at.radio(key=key(at, "run", "kind")).set_value("behavioural").run()
    assert any("feature_sets[0].current_overall: a behavioural twin reads no feature" in e.value for e in at.error)
    at.toggle(key=key(at, "fs", 0, "co")).set_value(False).run()
    at.text_input(key=key(at, "fs", 0, "ow")).input("").run()
    at.number_input(key=key(at, "fs", 0, "ol")).set_value(0).run()
    at.toggle(key=key(at, "fs", 0, "id")).set_value(False).run()
    config = at.session_state["config"]
    assert config.kind == "behavioural" and config.feature_sets[0].overall_fields() == []
    assert "ready to train" in at.success[-1].value


def test_new_parts_and_unticked_automatic_numbers_start_from_the_library_defaults(editor: AppTest) -> None:
    at = editor
    at.button(key=key(at, "fs", "add")).click().run()
    at.button(key=key(at, "l", "add")).click().run()
    depth = len(at.session_state["config"].stack.layers)
    at.button(key=key(at, "l", depth, "add")).click().run()
    at.run()  # the widgets read the new parts back
    config = at.session_state["config"]
    assert config.feature_sets[-1] == FeatureSpec(name="features-1")
    new_layer = config.stack.layers[-1]
    assert new_layer.passthrough is LayerSpec(models=()).passthrough
    assert new_layer.models == (ModelSpec(f"ridge-l{depth}", "ridgecv"), ModelSpec("ridge-1", "ridgecv"))

    at.checkbox(key=key(at, "split", "gap") + ":auto").uncheck().run()
    at.checkbox(key=key(at, "cv", "jobs") + ":auto").uncheck().run()
    config = at.session_state["config"]
    assert config.split.gap == config.lookback
    assert config.stack.n_jobs == parallel_fits(None)

    at.checkbox(key=key(at, "cv", "fitrows") + ":auto").check().run()
    assert at.session_state["config"].stack.max_fit_rows is None  # "Every row (no sample)"
    at.checkbox(key=key(at, "cv", "fitrows") + ":auto").uncheck().run()
    at.number_input(key=key(at, "cv", "fitrows")).set_value(50_000).run()
    assert at.session_state["config"].stack.max_fit_rows == 50_000


def test_the_interval_level_and_method_are_chosen_on_the_run_tab(editor: AppTest) -> None:
    at = editor
    assert at.number_input(key=key(at, "run", "interval_level")).value == 90
    assert at.radio(key=key(at, "run", "interval_method")).value == "split"
    at.number_input(key=key(at, "run", "interval_level")).set_value(80.0).run()
    at.radio(key=key(at, "run", "interval_method")).set_value("workload").run()
    assert not at.exception
    assert at.session_state["config"].intervals == IntervalSpec(nominal=0.8, method="workload")


def test_terms_of_art_carry_the_glossary_and_presets_their_descriptions(editor: AppTest) -> None:
    at = editor
    assert f"- **seed-v3**: {get_preset('seed-v3').description}" in at.selectbox(key="preset_choice").help
    assert at.toggle(key=key(at, "l", 2, "pt")).help == GLOSSARY["passthrough"]
    assert GLOSSARY["purge gap"] in at.number_input(key=key(at, "split", "gap")).help
    assert GLOSSARY["meta-learner"] in at.selectbox(key=key(at, "m", 2, 0, "kind")).help


def test_section_headings_are_short_enough_to_keep_their_help_on_the_line(editor: AppTest) -> None:
    headings = {m.value: m.help for m in editor.markdown if m.value.startswith("#### ")}
    assert headings["#### Layer 2 · reads layer 1"] == f"{GLOSSARY['meta-learner']}\n\n{GLOSSARY['out-of-fold']}"
    assert headings["#### Hold-out: the final score"] == GLOSSARY["hold-out"]
    assert headings["#### Out-of-fold: trains the next layer"] == GLOSSARY["out-of-fold"]
    assert max(map(len, headings)) <= len("#### Out-of-fold: trains the next layer")  # ~360 px at 1280: one line
