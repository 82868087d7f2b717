"""Data page: opens on demo data, real parquet uploads through the widget replace the data (or join it when asked),
refused uploads keep what was there."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import DEMO_ROWS, figures, goto, metric, train, trace, values
from twin_core.demo import make_demo_frames, write_demo_parquet

PARQUET = "application/vnd.apache.parquet"


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    """Put files into the data uploader (its key changes after every upload) and run."""
    uploader = next(u for u in at.file_uploader if u.key.startswith("data_upload"))
    return uploader.set_value([(name, content, PARQUET) for name, content in files]).run()


def demo_files(prefix: str, rows: int, sessions: int, seed: int) -> list[tuple[str, bytes]]:
    """Demo parquet files, one per session, named `<prefix><workload>_<index>.parquet`, as (name, bytes); each seed
    records a day later than the one before, so files of two seeds share no timestamp."""
    files = []
    for name, frame in make_demo_frames(rows=rows, cores=4, sessions=sessions, seed=seed):
        buffer = io.BytesIO()
        frame.assign(timestamp=frame["timestamp"] + 86_400 * seed).to_parquet(buffer, index=False)
        files.append((prefix + name, buffer.getvalue()))
    return files


def missing_column_bytes() -> bytes:
    """A real parquet file without the cpu_util_overall column."""
    _, frame = make_demo_frames(rows=400, sessions=1, seed=3)[0]
    buffer = io.BytesIO()
    frame.drop(columns=["cpu_util_overall"]).to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_first_visit_shows_demo_data_and_chart(app: AppTest) -> None:
    assert any("Demo telemetry" in m.value for m in app.sidebar.markdown)  # AppTest drops it after switch_page
    goto(app, "data")
    assert metric(app, "Rows") == f"{DEMO_ROWS:,}"
    assert metric(app, "Sessions") == "6"
    assert metric(app, "Cores") == "8"
    assert metric(app, "Sampling interval") == "0.1 s"
    assert app.success[0].value == "Validation found no problems."
    assert len(app.dataframe[1].value) == 6  # sessions table
    assert json.loads(app.dataframe[1].proto.columns)["workload_type"]["label"] == "workload"  # no raw column name
    chart = figures(app)["utilisation_chart"]
    assert f"{DEMO_ROWS:,} samples in 6 sessions;" in chart["layout"]["title"]["subtitle"]["text"]
    overall = values(trace(chart, "overall")["y"]).astype(float)
    target = values(trace(chart, "core 0 (target)")["y"]).astype(float)
    finite = overall[np.isfinite(overall)]
    assert len(finite) == DEMO_ROWS and np.all((finite >= 0) & (finite <= 100))
    assert np.isfinite(target).sum() == DEMO_ROWS


def test_upload_of_real_parquet_files_replaces_the_data(app: AppTest, tmp_path: Path) -> None:
    goto(app, "data")
    paths = write_demo_parquet(tmp_path, rows=900, cores=4, sessions=3, seed=5)
    app.file_uploader(key="data_upload").set_value([(p.name, p.read_bytes(), PARQUET) for p in paths]).run()
    assert not app.exception
    assert not app.error
    assert metric(app, "Rows") == "900"
    assert metric(app, "Sessions") == "3"
    assert metric(app, "Cores") == "4"
    assert app.session_state["data_label"] == "cpu_bound_00.parquet + 2 more files"
    assert len(values(trace(figures(app)["utilisation_chart"], "core 0 (target)")["y"])) >= 900


def test_a_second_upload_replaces_the_first_and_empties_the_uploader(app: AppTest) -> None:
    goto(app, "data")
    upload(app, demo_files("a_", rows=700, sessions=7, seed=1))
    assert app.session_state["data_label"] == "a_cpu_bound_00.parquet + 6 more files"
    assert [u.value for u in app.file_uploader if u.key.startswith("data_upload")] == [[]]
    upload(app, demo_files("b_", rows=500, sessions=2, seed=2))
    assert not app.exception and not app.error
    assert app.session_state["data_label"] == "b_cpu_bound_00.parquet + 1 more file"
    assert metric(app, "Rows") == "500"
    assert metric(app, "Sessions") == "2"
    assert set(app.session_state["telemetry"].frame["source"]) == {"b_cpu_bound_00.parquet", "b_io_bound_01.parquet"}


def test_add_files_joins_the_upload_to_the_current_files(app: AppTest) -> None:
    goto(app, "data")
    assert app.toggle(key="upload_append").disabled  # demo data has no files to add to
    upload(app, demo_files("a_", rows=600, sessions=3, seed=1))
    app.toggle(key="upload_append").set_value(True).run()
    upload(app, demo_files("b_", rows=400, sessions=2, seed=2))
    assert not app.exception and not app.error
    assert metric(app, "Rows") == "1,000"
    assert metric(app, "Sessions") == "5"
    assert app.session_state["data_label"] == "a_cpu_bound_00.parquet + 4 more files"
    assert len(set(app.session_state["telemetry"].frame["source"])) == 5


def test_a_refused_upload_after_an_upload_keeps_that_data_and_its_label(app: AppTest) -> None:
    goto(app, "data")
    upload(app, demo_files("a_", rows=600, sessions=3, seed=1))
    before = app.session_state["telemetry"].fingerprint
    upload(app, [("no_overall.parquet", missing_column_bytes()), ("bad.parquet", b"not a table")])
    assert not app.exception
    refusal = next(e.value for e in app.error if "Upload refused" in e.value)
    assert "(no_overall.parquet + 1 more file)" in refusal
    assert "Still using: a_cpu_bound_00.parquet + 2 more files." in refusal
    assert app.session_state["telemetry"].fingerprint == before
    assert app.session_state["data_label"] == "a_cpu_bound_00.parquet + 2 more files"
    assert metric(app, "Rows") == "600"


def test_a_refused_add_names_only_the_new_files_and_keeps_the_data(app: AppTest) -> None:
    goto(app, "data")
    upload(app, demo_files("a_", rows=600, sessions=3, seed=1))
    before = app.session_state["telemetry"].fingerprint
    app.toggle(key="upload_append").set_value(True).run()
    upload(app, [("no_overall.parquet", missing_column_bytes())])
    assert not app.exception
    refusal = next(e.value for e in app.error if "Upload refused" in e.value)
    headline, still = refusal.split("  \n")
    assert headline.startswith("**Upload refused** (no_overall.parquet could not be added to the current data): "
                               "File 'no_overall.parquet' has no column 'cpu_util_overall'")
    assert "a_cpu_bound" not in headline
    assert still == "Still using: a_cpu_bound_00.parquet + 2 more files."
    assert app.session_state["telemetry"].fingerprint == before
    assert app.session_state["data_label"] == "a_cpu_bound_00.parquet + 2 more files"
    assert metric(app, "Rows") == "600"


def test_the_uploader_is_emptied_even_when_loading_fails_unforeseen(app: AppTest, monkeypatch) -> None:
    goto(app, "data")

    def broken(*args, **kwargs):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr("ui.state.load_uploaded", broken)
    upload(app, demo_files("a_", rows=300, sessions=1, seed=1))
    assert "unforeseen" in app.exception[0].value
    monkeypatch.undo()
    app.run()
    assert [(u.key, u.value) for u in app.file_uploader if u.key.startswith("data_upload")] == [("data_upload_1", [])]
    assert app.session_state["data_label"].startswith("Demo telemetry")


def nested_column_bytes() -> bytes:
    """A real parquet file whose cpu_util_core_1 holds a list per row (the app once showed a raw exception)."""
    _, frame = make_demo_frames(rows=400, sessions=1, seed=3)[0]
    frame["cpu_util_core_1"] = [[value, value] for value in frame["cpu_util_core_1"]]
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.parquet", b"\x00\x01\x02 not a table",
     "does not start with the parquet signature PAR1 and looks like some other binary"),
    ("no_overall.parquet", missing_column_bytes(), "has no column 'cpu_util_overall'"),
    ("nested.parquet", nested_column_bytes(), "column 'cpu_util_core_1' holds nested values (list"),
], ids=["not_parquet", "missing_column", "nested_column"])
def test_refused_upload_shows_why_and_keeps_data_and_runs(app: AppTest, name: str, content: bytes,
                                                           message: str) -> None:
    train(app)
    before = app.session_state["telemetry"].fingerprint
    goto(app, "data")
    app.file_uploader(key="data_upload").set_value((name, content, PARQUET)).run()
    assert not app.exception
    assert any(message in e.value and "Upload refused" in e.value for e in app.error)
    assert app.session_state["telemetry"].fingerprint == before
    assert metric(app, "Rows") == f"{DEMO_ROWS:,}"
    assert [run.label for run in app.session_state["runs"]] == ["quick #1"]
    assert app.session_state["active_run"] == "quick #1"


def test_demo_button_brings_the_demo_back(app: AppTest, tmp_path: Path) -> None:
    goto(app, "data")
    path = write_demo_parquet(tmp_path, rows=500, sessions=2, seed=9)[0]
    app.file_uploader(key="data_upload").set_value((path.name, path.read_bytes(), PARQUET)).run()
    assert app.session_state["data_label"] == path.name
    next(b for b in app.button if b.label == "Use demo telemetry").click().run()
    assert metric(app, "Rows") == f"{DEMO_ROWS:,}"
    assert app.session_state["data_label"].startswith("Demo telemetry")


def test_upload_over_the_memory_budget_is_refused_before_reading(app: AppTest, tmp_path: Path, monkeypatch) -> None:
    goto(app, "data")
    path = write_demo_parquet(tmp_path, rows=600, sessions=1, seed=4)[0]
    monkeypatch.setenv("TWIN_MEMORY_BUDGET", "10kB")

    def no_reading(*args, **kwargs):
        raise AssertionError("the upload was read before the budget check")

    monkeypatch.setattr("twin_core.telemetry.reading.pd.read_parquet", no_reading)
    app.file_uploader(key="data_upload").set_value((path.name, path.read_bytes(), PARQUET)).run()
    assert not app.exception
    refusal = next(e.value for e in app.error if "Upload refused" in e.value)
    assert "(600 rows) would need about" in refusal and "memory budget is 10 kB (set by $TWIN_MEMORY_BUDGET)" in refusal
    assert metric(app, "Rows") == f"{DEMO_ROWS:,}"


COLLECTORS = Path(__file__).parent.parent / "fixtures" / "collectors"


def test_a_collectors_export_uploads_labelled_by_the_schedule_given(app: AppTest) -> None:
    goto(app, "data")
    procstat = COLLECTORS / "procstat.log"
    schedule = COLLECTORS / "schedule.csv"
    app.file_uploader(key="upload_schedule").set_value([(schedule.name, schedule.read_bytes(), "text/csv")])
    app.file_uploader(key="data_upload").set_value([(procstat.name, procstat.read_bytes(), "text/plain")]).run()
    assert not app.exception and not app.error
    assert metric(app, "Cores") == "2"
    assert app.session_state["data_label"] == "procstat.log"
    telemetry = app.session_state["telemetry"]
    assert {"idle", "core0_busy", "core1_busy", "both_busy"} <= set(telemetry.frame["workload_type"])
    assert "source_format" in telemetry.report.codes("info")


def test_a_bad_schedule_refuses_the_upload_naming_the_schedule(app: AppTest) -> None:
    goto(app, "data")
    procstat = COLLECTORS / "procstat.log"
    app.file_uploader(key="upload_schedule").set_value([("plan.csv", b"begin,end,label\n1,2,x\n", "text/csv")])
    app.file_uploader(key="data_upload").set_value([(procstat.name, procstat.read_bytes(), "text/plain")]).run()
    assert not app.exception
    assert "plan.csv: no column start" in app.error[0].value
    assert metric(app, "Cores") == "8"  # the demo data is still the active data
