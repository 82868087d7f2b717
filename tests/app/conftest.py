"""AppTest fixtures: every test starts from app.py on small demo data with empty Streamlit caches."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.app.helpers import APP, DEMO_ROWS, TIMEOUT_S


@pytest.fixture(autouse=True)
def fresh_streamlit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small demo telemetry and no cached parse or demo carried over from another test."""
    monkeypatch.setenv("TWIN_DEMO_ROWS", str(DEMO_ROWS))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app() -> AppTest:
    """The app after its first run (the Data page on demo data)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    return at
