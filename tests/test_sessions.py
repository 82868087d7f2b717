"""The session rule: one definition of when a pause starts a new session, read by the loaders and the CLI."""
from __future__ import annotations

import inspect
import math

import pytest

from twin_core import cli
from twin_core.telemetry import SessionRule, load_telemetry, load_uploaded, telemetry_from_frames, validate_sources


@pytest.mark.parametrize("loader", [load_telemetry, load_uploaded, telemetry_from_frames, validate_sources])
def test_every_loader_defaults_to_the_session_rule_the_readme_documents(loader) -> None:
    parameters = inspect.signature(loader).parameters
    rule = SessionRule()
    assert (parameters["gap_factor"].default, parameters["min_gap_s"].default) == (rule.gap_factor, rule.min_gap_s)
    assert (rule.gap_factor, rule.min_gap_s) == (10.0, 10.0)  # README: `--gap-factor` (10) and `--min-gap-s` (10 s)


def test_the_cli_reads_its_session_defaults_and_their_help_from_the_rule(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli, "SessionRule", lambda: SessionRule(gap_factor=7.5, min_gap_s=3.0))
    args = cli._parser().parse_args(["validate", "data.parquet"])
    assert (args.gap_factor, args.min_gap_s) == (7.5, 3.0)
    with pytest.raises(SystemExit):
        cli.main(["validate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "starts a new session (default 7.5)" in help_text
    assert "never start a new session (default 3)" in help_text


@pytest.mark.parametrize(("interval", "threshold"), [(0.1, 10.0), (2.0, 20.0), (math.nan, math.inf)])
def test_a_pause_must_pass_both_limits_to_start_a_session(interval: float, threshold: float) -> None:
    assert SessionRule().threshold(interval) == threshold
