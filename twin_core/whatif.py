"""What-if questions asked of a trained twin: change the inputs, predict the target again, compare.

A scenario edits the telemetry the twin reads (busier or idler cores, another workload label) while keeping it
physically consistent: when core loads change, `cpu_util_overall` moves by the same amount per core, so the
identity `N·overall − Σ other cores` still holds as well as it did. Values stay within 0–100 %.

What the answer means depends on the twin's kind, and every answer says so in its `note`: a reconstruction
twin reads overall, so its answer mostly follows from the identity; a behavioural twin reads neither overall
nor the target, so its answer is the learned response of the target to the other cores and the workload.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_core.config import TwinKind
from twin_core.errors import ConfigError, SchemaMismatchError
from twin_core.evaluate import identity_formula
from twin_core.runs import TwinModel, with_target
from twin_core.telemetry import OVERALL, SESSION, TIMESTAMP, WORKLOAD, Telemetry


@dataclass(frozen=True)
class Scenario:
    """One change to the inputs. `core_scale` multiplies the chosen cores' utilisation (all non-target cores
    when `cores` is empty); `core_offset` adds percentage points after scaling; `workload` relabels every row."""

    name: str = "scenario"
    core_scale: float = 1.0
    core_offset: float = 0.0
    cores: tuple[str, ...] = ()
    workload: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cores", tuple(self.cores))

    def validate(self, telemetry: Telemetry) -> None:
        """Refuse scenarios the telemetry cannot express, naming the problem."""
        if not isinstance(self.core_scale, (int, float)) or not 0 <= self.core_scale < float("inf"):
            raise ConfigError(f"Scenario '{self.name}': core_scale must be a finite number of at least 0, "
                              f"got {self.core_scale!r}.")
        if not isinstance(self.core_offset, (int, float)) or not -100.0 <= self.core_offset <= 100.0:
            raise ConfigError(f"Scenario '{self.name}': core_offset must lie within ±100 points.")
        unknown = sorted(set(self.cores) - set(telemetry.other_cores))
        if unknown:
            raise ConfigError(f"Scenario '{self.name}': {unknown} are not input cores; choose from "
                              f"{list(telemetry.other_cores)} (the target cannot be edited).")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> Scenario:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"Scenario: unknown field(s) {sorted(unknown)}.")
        return cls(**data)


def apply_scenario(telemetry: Telemetry, scenario: Scenario) -> Telemetry:
    """The telemetry as the scenario would have it (a new object; the input is not changed)."""
    scenario.validate(telemetry)
    frame = telemetry.frame.copy()
    cores = list(scenario.cores or telemetry.other_cores)
    before = frame[cores].to_numpy(dtype=float)
    after = np.clip(before * scenario.core_scale + scenario.core_offset, 0.0, 100.0)
    frame[cores] = after
    shift = (after - before).sum(axis=1) / telemetry.n_cores
    frame[OVERALL] = np.clip(frame[OVERALL].to_numpy(dtype=float) + shift, 0.0, 100.0)
    if scenario.workload is not None:
        frame[WORKLOAD] = scenario.workload
    return dataclasses.replace(telemetry, frame=frame, fingerprint=f"{telemetry.fingerprint}+{scenario.name}")


@dataclass
class WhatIfAnswer:
    """Baseline and scenario predictions of the twin's final layer, row by row and summarised, with the core the
    twin predicts, its kind and a note of what an answer of that kind means."""

    scenario: Scenario
    predictions: pd.DataFrame
    summary: pd.DataFrame
    kind: TwinKind
    note: str
    target: str

    @property
    def mean_change(self) -> float:
        return float((self.predictions["scenario"] - self.predictions["baseline"]).mean())


def ask(model: TwinModel, telemetry: Telemetry, scenario: Scenario) -> WhatIfAnswer:
    """Predict the target with and without the scenario; summarise the change per session and overall.

    The scenario edits the twin's inputs, never the core the twin predicts, whatever target the data names.
    """
    problem = model.incompatibility(telemetry)
    if problem:
        raise SchemaMismatchError(problem)
    telemetry = with_target(telemetry, model.target)
    baseline = model.predict_layers(telemetry)[-1].mean(axis=1)
    changed = model.predict_layers(apply_scenario(telemetry, scenario))[-1].mean(axis=1)
    frame = telemetry.frame.loc[baseline.index]
    predictions = pd.DataFrame({TIMESTAMP: frame[TIMESTAMP], SESSION: frame[SESSION], WORKLOAD: frame[WORKLOAD],
                                "actual": frame[model.target],
                                "baseline": baseline.clip(0, 100), "scenario": changed.clip(0, 100)})
    grouped = predictions.groupby(SESSION).agg(workload=(WORKLOAD, "first"), rows=("baseline", "size"),
                                               baseline_mean=("baseline", "mean"), scenario_mean=("scenario", "mean"))
    grouped["change"] = grouped["scenario_mean"] - grouped["baseline_mean"]
    total = pd.DataFrame({"workload": ["all"], "rows": [len(predictions)],
                          "baseline_mean": [predictions["baseline"].mean()],
                          "scenario_mean": [predictions["scenario"].mean()]}, index=pd.Index(["all"], name=SESSION))
    total["change"] = total["scenario_mean"] - total["baseline_mean"]
    kind = model.config.kind
    return WhatIfAnswer(scenario, predictions, pd.concat([grouped, total]).reset_index(), kind,
                        _kind_note(kind, model.target, len(model.core_columns)), model.target)


def _kind_note(kind: TwinKind, target: str, n_cores: int) -> str:
    """What a what-if answer of a twin of this kind means, in one sentence for the page and the report."""
    if kind == "behavioural":
        return (f"Behavioural twin: the change is the learned response of {target} to the other cores and the "
                f"workload; the twin reads neither {OVERALL} nor {target} itself.")
    return (f"Reconstruction twin: the scenario moves {OVERALL} with the cores, so the change follows mostly from "
            f"the identity {identity_formula(n_cores)}, not from how {target} behaves; ask a behavioural twin for "
            f"that.")
