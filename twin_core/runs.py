"""Writing a finished run's outputs: metrics.json (the stable contract), config.json, predictions.parquet."""
from __future__ import annotations

import json
from pathlib import Path

from twin_core.pipeline import TrainResult, predictions_frame


def save_run_outputs(result: TrainResult, out_dir: str | Path) -> Path:
    """Write the run's metrics, configuration and hold-out predictions into `out_dir` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2, allow_nan=False))
    (out / "config.json").write_text(result.config.to_json())
    predictions_frame(result).to_parquet(out / "predictions.parquet", engine="pyarrow", index=False)
    return out
