"""Choose the `default` preset by out-of-fold R² on training rows only (the hold-out is never read here).

Scores several candidate compositions on the seed telemetry and on demo telemetry of other shapes, and
prints each candidate's best and top-layer OOF R². Run: `python bench/select_default.py [--data DIR]`.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from twin_core.config import LayerSpec, ModelSpec, RunConfig  # noqa: E402
from twin_core.demo import make_demo_telemetry  # noqa: E402
from twin_core.pipeline import oof_scores  # noqa: E402
from twin_core.presets import get_preset  # noqa: E402
from twin_core.telemetry import load_telemetry  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "cosmos_telemetry_v2"
LGBM = {"n_estimators": 300, "learning_rate": 0.05}


def _layers(config: RunConfig, *layers: LayerSpec) -> RunConfig:
    return replace(config, stack=replace(config.stack, layers=layers))


def candidates() -> dict[str, RunConfig]:
    """The compositions compared; `default` is the current preset."""
    base = get_preset("default")
    l1, l2, l3 = base.stack.layers
    single = LayerSpec(models=(ModelSpec("lgbm-identity", "lightgbm", LGBM, "identity-short"),))
    wide_l1 = LayerSpec(models=l1.models + (ModelSpec("trees-history", "extratrees",
                                                      {"n_estimators": 200, "min_samples_leaf": 3}, "history"),))
    return {
        "default (3 layers)": base,
        "one LightGBM, identity features": _layers(base, single),
        "two layers (no top)": _layers(base, l1, l2),
        "layer 2 with passthrough": _layers(base, l1, replace(l2, passthrough=True), l3),
        "wider layer 1 (+ extra trees)": _layers(base, wide_l1, l2, l3),
        "notebook composition (seed-v3)": get_preset("seed-v3"),
    }


def datasets(data_dir: Path) -> dict[str, object]:
    """The seed telemetry plus demo data of other core counts and sampling rates."""
    sets = {"demo 8 cores 10 Hz": make_demo_telemetry(rows=6000, cores=8, sessions=6, seed=11),
            "demo 4 cores 1 Hz": make_demo_telemetry(rows=5000, cores=4, sessions=5, interval_s=1.0, seed=12),
            "demo 16 cores 10 Hz": make_demo_telemetry(rows=6000, cores=16, sessions=6, seed=13)}
    if data_dir.is_dir():
        sets = {"seed telemetry": load_telemetry(data_dir), **sets}
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    data = datasets(args.data)
    print(f"{'candidate':<34}" + "".join(f"{name:>30}" for name in data) + f"{'mean best':>10}")
    for label, config in candidates().items():
        cells, bests = [], []
        for telemetry in data.values():
            started = time.perf_counter()
            table = oof_scores(telemetry, config)
            best = table["r2_oof"].max()
            top = table.loc[table["layer"] == table["layer"].max(), "r2_oof"].max()
            bests.append(best)
            cells.append(f"best {best:.4f} top {top:.4f} {time.perf_counter() - started:3.0f}s")
        print(f"{label:<34}" + "".join(f"{c:>30}" for c in cells) + f"{sum(bests) / len(bests):10.4f}")
    print("\nOOF R² on training rows, purged time-blocked folds; the hold-out rows are never fitted or scored.")


if __name__ == "__main__":
    main()
