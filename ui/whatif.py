"""What-if glue: which twin is asked (a run of this session, picked as the app's active run, or a saved one),
whether it fits the current data, and the question itself with the library's warnings and refusals kept as messages.
An answer is kept with the twin, data and scenario that produced it and shown only for those (never stale)."""
from __future__ import annotations

import dataclasses
import uuid
import warnings
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from twin_core.errors import TwinError
from twin_core.evaluate import score_text
from twin_core.runs import TwinModel
from twin_core.telemetry import Telemetry
from twin_core.whatif import Scenario, WhatIfAnswer, ask
from twin_core.wording import coverage_note
from ui import state
from ui import store as run_store
from ui.state import Run

LOADED = "whatif_loaded_twins"
PICKER = "whatif_session_run"
ANSWER = "whatif_answer"


@dataclass(frozen=True)
class Twin:
    """A trained twin and, in words, which run it is and what it was trained on."""

    key: str
    model: TwinModel = field(repr=False)
    name: str
    trained_on: str
    fingerprint: str
    band_coverage: float | None = None  # hold-out coverage of the band What-if shades (its top model's), if measured


@dataclass(frozen=True)
class Asked:
    """One question put to a twin on some data (its fingerprint): the answer, or why there is none, and the
    library's warnings; `key` is this asking's own (never reused), which its cached chart is keyed on."""

    twin: Twin
    data_label: str
    fingerprint: str
    scenario: Scenario
    answer: WhatIfAnswer | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False)


def _make_active(key: str) -> None:
    """Run picker callback: the run chosen in the picker `key` becomes the app's active run (the sidebar follows)."""
    st.session_state[state.ACTIVE_RUN] = st.session_state[key]


def pick_session_run(key: str = PICKER, disabled: bool = False) -> Run:
    """A picker of this session's runs that always shows the active run (the sidebar's), and makes the run chosen
    in it the active one, so What-if, Live, the sidebar and Results speak of the same run."""
    runs = state.runs()
    st.session_state[key] = (state.active_run() or runs[-1]).label
    label = st.selectbox("Run", [run.label for run in runs], key=key, on_change=_make_active, args=(key,),
                         disabled=disabled,
                         help="The active run, as in the sidebar: choosing another one here makes it the active run.")
    return state.run_by_label(label)


def session_twin(run: Run) -> Twin:
    """The twin of a finished run of this browser session."""
    result = run.result
    counts = result.split.counts()
    return Twin(f"session:{run.label}", result.model, f"run **{run.label}** of this session",
                f"{run.data_label}, {counts['train']:,} training rows; hold-out: {result.split.description}",
                result.data_fingerprint, band_coverage(result.model, result.metrics))


def pick_saved_twin(saved: pd.DataFrame, key: str, disabled: bool = False, current: str | None = None) -> Twin:
    """A picker of the run store's runs (`saved`: its list, not empty) and the twin of the one chosen; with the
    `current` data's fingerprint, a run trained on other data says so. Raises TwinError."""
    rows = saved.set_index("id")

    def option(run_id: str) -> str:
        other = current is not None and rows.loc[run_id, "data_fingerprint"] != current
        return (f"{rows.loc[run_id, 'label']} · saved {rows.loc[run_id, 'created_at']} · "
                f"R² {score_text(rows.loc[run_id, 'best_r2_holdout'])}" + (" · other data" if other else ""))

    run_id = st.selectbox("Saved run", list(rows.index), key=key, disabled=disabled, format_func=option)
    return _saved_twin(run_id, rows.loc[run_id, "label"], rows.loc[run_id, "created_at"])


def _saved_twin(run_id: str, label: str, created_at: str) -> Twin:
    """The twin of a saved run, loaded once per browser session (its signature is verified); raises TwinError."""
    loaded = st.session_state.setdefault(LOADED, {})
    if run_id not in loaded:
        store = run_store.open_store()
        metrics = store.metrics(run_id)
        loaded[run_id] = Twin(
            f"saved:{run_id}", store.load_model(run_id), f"saved run **{label}** (`{run_id}`, saved {created_at} UTC)",
            f"data {metrics['data_fingerprint'][:12]}, {metrics['rows']['train']:,} training rows; "
            f"hold-out: {metrics['split']['description']}", metrics["data_fingerprint"])
        loaded[run_id] = dataclasses.replace(loaded[run_id], band_coverage=band_coverage(loaded[run_id].model, metrics))
    return loaded[run_id]


def band_coverage(model: TwinModel, metrics: dict) -> float | None:
    """The hold-out coverage, in metrics.json, of the band TwinModel.top_band draws (the top layer's one model's);
    None when the twin has no such band or the run did not measure it."""
    top = model.config.stack.layers[-1].models
    depth = len(model.config.stack.layers)
    if model.calibration is None or len(top) != 1:
        return None
    entry = next((m for m in metrics.get("models", []) if m.get("layer") == depth and m.get("name") == top[0].name), {})
    return entry.get("interval", {}).get("coverage_holdout")


def band_note(asked: Asked) -> tuple[str, str] | None:
    """wording.coverage_note for the band the answer shades, from its hold-out coverage; None without one."""
    nominal = asked.answer.predictions.attrs.get("interval_nominal")
    return None if nominal is None else coverage_note(float(nominal), asked.twin.band_coverage)


def band_words(asked: Asked) -> str | None:
    """What the legend's share means: it counts every row asked, training rows included (the band was calibrated on
    those), so the hold-out coverage is named beside it; None when the answer has no band."""
    if "lower" not in asked.answer.predictions:
        return None
    covered = asked.twin.band_coverage
    holdout = "" if covered is None else f" (on the hold-out rows alone: {score_text(100 * covered, '.1f')} %)"
    return ("The shaded band is the twin's interval around its prediction as recorded; the share its legend gives is "
            f"of all rows here, training rows included{holdout}.")


def input_cores(model: TwinModel, telemetry: Telemetry) -> list[str]:
    """The cores of the current data a scenario may edit: all but the twin's target."""
    return [core for core in telemetry.core_columns if core != model.target]


def scenario_name(scale: float, offset: float, cores: tuple[str, ...], workload: str | None) -> str:
    """A name for a scenario the user did not name, said from its settings ('input cores at 150 %, shifted -5
    points'), so titles and legends tell what was asked instead of repeating a placeholder."""
    parts = [f"{'cores ' + ', '.join(c.removeprefix('cpu_util_') for c in cores) if cores else 'input cores'} "
             f"at {scale:g} %"] if scale != 100 or offset or not workload else []
    if offset:
        parts.append(f"shifted {offset:+g} points")
    if workload:
        parts.append(f"workload '{workload}'")
    return ", ".join(parts)


def session_table(answer: WhatIfAnswer) -> pd.DataFrame:
    """The answer's per-session summary as the page shows it: sessions as text, the total row named 'all sessions'
    once (no workload of its own)."""
    table = answer.summary.astype({"session": str, "workload": object})
    total = table["session"] == "all"
    table.loc[total, "session"] = "all sessions"
    table.loc[total, "workload"] = ""
    return table


def ask_twin(twin: Twin, telemetry: Telemetry, data_label: str, scenario: Scenario) -> None:
    """Ask the twin about the scenario on the current data and keep the answer (a refused scenario becomes a
    message), replacing any earlier one."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            answer, error = with_band(twin.model, telemetry, ask(twin.model, telemetry, scenario)), None
        except TwinError as exc:
            answer, error = None, str(exc)
    st.session_state[ANSWER] = Asked(twin, data_label, telemetry.fingerprint, scenario, answer,
                                     tuple(dict.fromkeys(str(w.message) for w in caught)), error)


def with_band(model: TwinModel, telemetry: Telemetry, answer: WhatIfAnswer) -> WhatIfAnswer:
    """The answer with the twin's interval around its prediction as recorded (`lower`, `upper`; its nominal level in
    the frame's attrs), when the twin has one for its final prediction; as it was otherwise. The band is taken around
    the prediction as shown (clipped to 0–100 %), which can only widen it, and not around the scenario's: a changed
    machine is not what the band was calibrated on."""
    band = model.top_band(telemetry, answer.predictions["baseline"])
    if band is None:
        return answer
    predictions = answer.predictions.assign(lower=band[0], upper=band[1])
    predictions.attrs["interval_nominal"] = model.calibration.nominal
    return dataclasses.replace(answer, predictions=predictions)


def answer_for(twin: Twin, telemetry: Telemetry, scenario: Scenario) -> Asked | None:
    """The kept answer if this twin gave it on this data for this scenario; None after the run, the data or a
    setting of the scenario changed, so no answer is ever shown under another twin or other settings."""
    asked = st.session_state.get(ANSWER)
    if asked is None or (asked.twin.key, asked.fingerprint, asked.scenario) != (twin.key, telemetry.fingerprint,
                                                                               scenario):
        return None
    return asked
