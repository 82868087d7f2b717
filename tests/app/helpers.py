"""Helpers for the AppTest page tests: navigation, training from the form, reading plotly figures back."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"
DEMO_ROWS = 1200
TIMEOUT_S = 120


def goto(at: AppTest, page: str) -> AppTest:
    """Switch to `pages/<page>.py`, run, and fail on any exception."""
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def train(at: AppTest, source: str = "quick", label: str = "") -> AppTest:
    """Train a preset (or 'editor') from the Train page's form."""
    goto(at, "train")
    at.selectbox(key="train_source").select(source)
    at.text_input(key="train_label").input(label)
    submit = next(b for b in at.button if b.label == "Train")
    submit.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> dict[str, dict]:
    """Every plotly chart on the page as its figure JSON, by the chart's widget key."""
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def trace(figure: dict, name: str) -> dict:
    """The trace called `name` of a figure."""
    return next(t for t in figure["data"] if t.get("name") == name)


def values(array: object) -> np.ndarray:
    """Plotly JSON arrays (plain lists or base64 typed arrays) as numpy."""
    if isinstance(array, dict) and "bdata" in array:
        data = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        return data.reshape(array["shape"]) if "shape" in array else data
    return np.asarray(array, dtype=object)


def metric(at: AppTest, label: str) -> str:
    """The value shown on the metric card called `label`."""
    return next(m.value for m in at.metric if m.label == label)
