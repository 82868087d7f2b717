"""AppTest fixtures: every test starts from app.py on small demo data with empty Streamlit caches."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.app.helpers import APP, DEMO_ROWS, TIMEOUT_S


@pytest.fixture(autouse=True)
def fresh_streamlit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Small demo telemetry, a run store of the test's own, and no cached parse or demo from another test."""
    monkeypatch.setenv("TWIN_DEMO_ROWS", str(DEMO_ROWS))
    monkeypatch.setenv("TWIN_STORE", str(tmp_path / "store" / "studio.sqlite"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app() -> AppTest:
    """The app after its first run (the Overview page on demo data)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    return at
