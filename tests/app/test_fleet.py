"""Fleet page: the fleets kept in the run store, a fleet's hosts worst first with their twin's hold-out R² against
the identity, and any host's run opened in Results as the active run. The fleet is trained in twin_core and kept in
the test's own store, so no test goes through the command's worker processes."""
from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import goto, metric
from twin_core.demo import make_demo_telemetry
from twin_core.evaluate import score_text
from twin_core.pipeline import TrainResult, train_twin
from twin_core.presets import get_preset
from twin_core.store import RunStore

FLEET = "fleet-20260101-000000-abcd"


@pytest.fixture(scope="module")
def host_results() -> dict[str, TrainResult]:
    """Three hosts' quick twins, each on demo telemetry of its own seed and core count."""
    return {f"host-0{n}": train_twin(make_demo_telemetry(rows=1200, cores=cores, sessions=3, seed=n),
                                     get_preset("quick"))
            for n, cores in ((1, 4), (2, 8), (3, 16))}


@pytest.fixture
def kept_fleet(host_results) -> dict[str, str]:
    """The three hosts kept in the test's store as one fleet (and a run of no fleet beside them): run id by host."""
    store = RunStore(os.environ["TWIN_STORE"], create=True)
    store.save(host_results["host-01"], "not in a fleet")
    return {host: store.save(result, host, fleet=FLEET, host=host) for host, result in host_results.items()}


def test_without_a_fleet_the_page_says_how_to_make_one(app: AppTest):
    goto(app, "fleet")
    assert "There is no run store yet" in app.info[0].value
    assert "python -m twin_core fleet" in app.code[0].value and "--hosts" in app.code[0].value


def test_the_page_lists_the_fleets_hosts_worst_first_against_the_identity(app: AppTest, kept_fleet, host_results):
    goto(app, "fleet")
    table = app.dataframe[0].value
    expected = sorted(host_results, key=lambda h: host_results[h].evaluation.best["r2_holdout"])
    assert table["host"].tolist() == expected and len(set(expected)) == 3
    for host, row in table.set_index("host").iterrows():
        evaluation = host_results[host].evaluation
        assert row["best_r2_holdout"] == score_text(evaluation.best["r2_holdout"])
        assert row["reference_r2_holdout"] == score_text(evaluation.baseline_r2("identity"))
    assert len(app.selectbox(key="fleet_choice").options) == 1 and "3 hosts · quick" in app.selectbox(
        key="fleet_choice").options[0]


def test_a_host_opens_in_results_as_the_active_run(app: AppTest, kept_fleet, host_results):
    goto(app, "fleet")
    best = max(host_results, key=lambda h: host_results[h].evaluation.best["r2_holdout"])
    app.selectbox(key=f"fleet_host:{FLEET}").set_value(kept_fleet[best]).run()
    next(b for b in app.button if b.key == "fleet_open").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "Results"
    assert app.session_state["active_run"] == best
    assert metric(app, "Best R² (hold-out)") == score_text(host_results[best].evaluation.best["r2_holdout"])
    goto(app, "fleet")  # opened again: the same run is made active, not added twice
    app.selectbox(key=f"fleet_host:{FLEET}").set_value(kept_fleet[best]).run()
    next(b for b in app.button if b.key == "fleet_open").click().run()
    assert [run.label for run in app.session_state["runs"]] == [best]
    for page in ("overview", "whatif", "compare", "live"):  # every page that reads the active run can show it
        goto(app, page)
