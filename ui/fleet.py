"""The Fleet page's parts: the fleets kept in the run store, one fleet's hosts worst first, and a host's run opened
as the active run of this session (so Results, What-if and Compare show it, as they show a run trained here).

Store failures come back as the store's own errors (ui.store.STORE_FAILURES); the page says them in one message.
"""
from __future__ import annotations

import pandas as pd

from twin_core.fleet import host_summary, worst_first
from twin_core.store import RunStore
from ui import store as run_store

HOW_TO_MAKE = ("python -m twin_core demo-data demo-fleet --hosts 4\n"
               "python -m twin_core fleet demo-fleet --out fleet-out --store")


def fleet_name(row: pd.Series) -> str:
    """A fleet as a person picks it: when it was kept, how many hosts, which configuration (its id is the tooltip)."""
    hosts = f"{row['hosts']} host{'s' if row['hosts'] != 1 else ''}"
    return f"{pd.Timestamp(row['created_at']):%d %b %Y %H:%M} · {hosts} · {row['preset']}"


def hosts(store: RunStore, fleet: str) -> pd.DataFrame:
    """The fleet's hosts, worst first: each host's best hold-out R² against the baseline its kind must beat (the
    identity for a reconstruction twin), the gain, the split and the rows, with the run id that opens it."""
    table = store.list(fleet=fleet)
    metrics = store.metrics_of(table["id"].tolist())
    rows = [{**host_summary(host, m), "run_id": run_id} for host, run_id, m in zip(table["host"], table["id"], metrics)]
    return pd.DataFrame.from_records(worst_first(rows))


def open_host(run_id: str, host: str, fleet: str) -> None:
    """Make a host's kept run the active run of this session (so Results, What-if and Compare show it)."""
    run_store.open_kept(run_id, host, f"the telemetry of {host} in {fleet}")
