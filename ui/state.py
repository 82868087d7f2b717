"""Per-user session state: the active telemetry, the configuration being edited, the finished runs.

Everything a user owns lives in `st.session_state`; parsing is cached on the file bytes (never on a frame).
An upload replaces the active data (or, asked to, adds its files to those of the active data); a failed upload
records its message and report and leaves the telemetry and the runs as they were.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import plotly.graph_objects as go
import streamlit as st

from twin_core.config import RunConfig
from twin_core.demo import make_demo_telemetry
from twin_core.errors import TwinError
from twin_core.layercache import LayerCache
from twin_core.pipeline import TrainResult
from twin_core.plots import utilisation_figure
from twin_core.presets import get_preset
from twin_core.telemetry import SessionRule, ValidationReport, Telemetry, load_uploaded
from twin_core.telemetry.options import SourceOptions
from twin_core.wording import files_label

TELEMETRY = "telemetry"
DATA_LABEL = "data_label"
UPLOAD_FAILURE = "upload_failure"
UPLOADER = "data_upload"
UPLOAD_REV = "upload_rev"
UPLOAD_APPEND = "upload_append"
DATA_FILES = "data_files"
SESSION_GAP = "session_gap_factor"
UPLOAD_WORKLOAD = "upload_workload"
UPLOAD_SCHEDULE = "upload_schedule"
UPLOAD_TIMEZONE = "upload_timezone"
CONFIG = "config"
EDITOR_REV = "editor_rev"
CONFIG_MESSAGE = "config_message"
RUNS = "runs"
ACTIVE_RUN = "active_run"
LAYER_CACHE = "layer_cache"
DEFAULT_PRESET = "default"


@dataclass(frozen=True)
class Run:
    """A finished training run of this browser session, with the label the user sees and a key of its own (unique
    across sessions, never reused) that its cached figures are keyed on."""

    label: str
    result: TrainResult = field(repr=False)
    data_label: str
    stored_as: str | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False)


@dataclass(frozen=True)
class UploadFailure:
    """Why the last upload was refused: its files, whether they were to join the current data's (`added`), the
    message and the full validation report, if any."""

    files: tuple[str, ...]
    message: str
    report: ValidationReport | None
    added: bool = False


def demo_rows() -> int:
    """Rows of the built-in demo (env `TWIN_DEMO_ROWS` shrinks it for tests)."""
    return int(os.environ.get("TWIN_DEMO_ROWS", "6000"))


@st.cache_data(show_spinner="Generating demo telemetry…", max_entries=4)
def demo_telemetry(rows: int, cores: int = 8, sessions: int = 6, seed: int = 0) -> Telemetry:
    """Seeded demo telemetry, cached on its parameters."""
    return make_demo_telemetry(rows=rows, cores=cores, sessions=sessions, seed=seed)


# Two entries: each keeps a pickled copy of a whole telemetry frame in server memory, shared by all users.
@st.cache_data(show_spinner="Reading and validating the upload…", max_entries=2)
def parse_upload(files: tuple[tuple[str, bytes], ...], gap_factor: float, workload: str | None = None,
                 schedule: tuple[str, bytes] | None = None, timezone: str = "UTC") -> Telemetry:
    """Validated telemetry of uploaded (name, bytes) pairs (parquet or collectors' exports), labelled from the
    reading options, cached on the bytes; raises TelemetryError, ConfigError for a bad schedule or zone, or
    MemoryBudgetError before reading files whose estimated working set passes the server's memory budget
    ($TWIN_MEMORY_BUDGET, else half of the memory available)."""
    name, data = schedule if schedule is not None else ("the schedule", None)
    options = SourceOptions.from_inputs(workload, data, name, timezone)
    return load_uploaded(list(files), gap_factor=gap_factor, options=options)


@st.cache_data(show_spinner=False, max_entries=16)
def utilisation_chart(fingerprint: str, target: str, columns: tuple[str, ...], _telemetry: Telemetry) -> go.Figure:
    """The per-core utilisation figure, cached on the data's content hash (the frame itself is never hashed)."""
    return utilisation_figure(_telemetry, list(columns))


def init() -> None:
    """Create the session's keys once; a first visit starts on demo data and the `default` preset."""
    state = st.session_state
    state.setdefault(RUNS, [])
    state.setdefault(LAYER_CACHE, LayerCache())
    state.setdefault(ACTIVE_RUN, None)
    state.setdefault(UPLOAD_FAILURE, None)
    state.setdefault(UPLOAD_REV, 0)
    state.setdefault(UPLOAD_APPEND, False)
    state.setdefault(EDITOR_REV, 0)
    state.setdefault(CONFIG_MESSAGE, None)
    state.setdefault(SESSION_GAP, SessionRule().gap_factor)
    state.setdefault(UPLOAD_WORKLOAD, "")
    state.setdefault(UPLOAD_TIMEZONE, "UTC")
    if CONFIG not in state:
        state[CONFIG] = get_preset(DEFAULT_PRESET)
    if TELEMETRY not in state:
        load_demo()


def layer_cache() -> LayerCache:
    """This session's fitted layers, so changing an upper layer retrains only from that layer up."""
    return st.session_state[LAYER_CACHE]


def load_demo() -> None:
    """Make the built-in demo telemetry the active data (button callback)."""
    rows = demo_rows()
    st.session_state[TELEMETRY] = demo_telemetry(rows)
    st.session_state[DATA_LABEL] = f"Demo telemetry ({rows:,} rows, seed 0)"
    st.session_state[DATA_FILES] = ()
    st.session_state[UPLOAD_FAILURE] = None


def use_telemetry(telemetry: Telemetry, label: str) -> None:
    """Make telemetry validated elsewhere (a recording kept on the Live page) the active data, as an upload does."""
    st.session_state[TELEMETRY] = telemetry
    st.session_state[DATA_LABEL] = label
    st.session_state[DATA_FILES] = ()
    st.session_state[UPLOAD_FAILURE] = None


def load_files(files: list[tuple[str, bytes]], joining: tuple[tuple[str, bytes], ...] = ()) -> None:
    """Validate uploaded files, together with the current data's files they are to join (`joining`), if any; on
    success all of them become the active data, on failure nothing changes but the message, which names only the
    uploaded files (the current ones were not refused)."""
    names = tuple(name for name, _ in files)
    together = (*joining, *files)
    try:
        schedule = st.session_state.get(UPLOAD_SCHEDULE)
        telemetry = parse_upload(together, float(st.session_state[SESSION_GAP]),
                                 st.session_state[UPLOAD_WORKLOAD] or None,
                                 (schedule.name, schedule.getvalue()) if schedule is not None else None,
                                 st.session_state[UPLOAD_TIMEZONE])
    except TwinError as exc:
        st.session_state[UPLOAD_FAILURE] = UploadFailure(names, str(exc), getattr(exc, "report", None),
                                                         added=bool(joining))
        return
    st.session_state[TELEMETRY] = telemetry
    st.session_state[DATA_LABEL] = files_label(tuple(name for name, _ in together))
    st.session_state[DATA_FILES] = together
    st.session_state[UPLOAD_FAILURE] = None


def uploader_key() -> str:
    """The data uploader's key, a new one after every upload: Streamlit's multi-file uploader keeps its files (and
    would send them again with the next ones) until the widget itself is replaced."""
    rev = st.session_state[UPLOAD_REV]
    return UPLOADER if rev == 0 else f"{UPLOADER}_{rev}"


def data_files() -> tuple[tuple[str, bytes], ...]:
    """The (name, bytes) of the uploaded files the active data was read from; empty for demo data or a recording."""
    return st.session_state[DATA_FILES]


def on_upload(key: str) -> None:
    """File-uploader callback: the files in the widget replace the active data, or join its files when "Add to the
    current data" is on; the widget is then replaced by an empty one, so the next upload starts afresh, even when
    loading failed in a way nobody foresaw (the old widget would send its files again with the next ones)."""
    try:
        # a new widget only changes by getting files
        files = [(f.name, f.getvalue()) for f in st.session_state.get(key) or []]
        load_files(files, data_files() if st.session_state[UPLOAD_APPEND] else ())
    finally:
        st.session_state[UPLOAD_REV] += 1


def upload_failure() -> UploadFailure | None:
    """Why the last upload was refused, until the next successful load."""
    return st.session_state[UPLOAD_FAILURE]


def telemetry() -> Telemetry:
    """The active telemetry."""
    return st.session_state[TELEMETRY]


def data_label() -> str:
    """What the active telemetry is, in a few words."""
    return st.session_state[DATA_LABEL]


def config() -> RunConfig:
    """The configuration being edited (and trained by default)."""
    return st.session_state[CONFIG]


def update_config(new: RunConfig) -> None:
    """Store the configuration the editor's widgets describe (they keep their own state)."""
    st.session_state[CONFIG] = new


def replace_config(new: RunConfig, message: str | None = None) -> None:
    """Load a whole configuration into the editor; its widgets start afresh from it."""
    st.session_state[CONFIG] = new
    st.session_state[EDITOR_REV] += 1
    st.session_state[CONFIG_MESSAGE] = None if message is None else ("success", message)


def config_message() -> tuple[str, str] | None:
    """(level, text) about the last load into the editor: a loaded preset or file, or a refused file."""
    return st.session_state[CONFIG_MESSAGE]


def refuse_config(text: str) -> None:
    """Record why a configuration file was not loaded (the editor keeps what it had)."""
    st.session_state[CONFIG_MESSAGE] = ("error", text)


def runs() -> list[Run]:
    """Finished runs of this browser session, oldest first."""
    return st.session_state[RUNS]


def run_by_label(label: str) -> Run:
    """The finished run with this label."""
    return next(run for run in runs() if run.label == label)


def active_run() -> Run | None:
    """The run the Results page shows, if any."""
    label = st.session_state[ACTIVE_RUN]
    return run_by_label(label) if label is not None else None


def active_run_or_stop(what: str) -> Run:
    """The active run; with none yet, the page says so (`what` appears here once one is trained), links to Train
    and stops."""
    run = active_run()
    if run is None:
        st.info(f"No finished run yet. Train one and its {what} appear here.", icon=":material/info:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        st.stop()
    return run


def add_run(run: Run) -> None:
    """Keep a finished run and make it the active one."""
    st.session_state[RUNS] = [*runs(), run]
    st.session_state[ACTIVE_RUN] = run.label


def unique_label(wanted: str) -> str:
    """`wanted`, or `wanted (2)`, `wanted (3)`… when a run already has that label."""
    taken = {run.label for run in runs()}
    label, n = wanted.strip() or "run", 2
    candidate = label
    while candidate in taken:
        candidate, n = f"{label} ({n})", n + 1
    return candidate
