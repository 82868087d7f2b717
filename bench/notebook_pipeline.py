"""The seed notebook's pipeline ("Digital Twin v3.0: Hierarchical Stacking Ensemble"), defects included.

This is the "before" picture for benchmarks, re-implemented from the notebook's description
(`../shared/seed/digital_twin_v3_notebook.md`, `../shared/seed/NOTES.md`). It deliberately keeps what the
product must not repeat: rolling windows and lags across session boundaries, positional index alignment of
the two feature frames, a random (leaky) 20 % hold-out, and `cross_val_predict(n_jobs=-1)` around
`LGBMRegressor(n_jobs=-1)`. Do not fix them here.

The notebook loads three pre-trained base models from joblib files we do not have; they are replaced by
freshly constructed stand-ins (`SEED_STANDIN_PARAMS`), each fitted on the training rows before it predicts
the hold-out rows.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_val_predict, train_test_split

TARGET = "cpu_util_core_0"

# Stand-ins for the notebook's pre-trained layer-1 models (n_jobs is added where they are built).
SEED_STANDIN_PARAMS: dict[str, dict[str, float | int]] = {
    "v2.0": {"random_state": 42},
    "v2.1": {
        "n_estimators": 400,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "random_state": 42,
    },
    "v2.3": {
        "n_estimators": 600,
        "learning_rate": 0.03,
        "num_leaves": 63,
        "colsample_bytree": 0.7,
        "random_state": 42,
    },
}


def _lgbm(**params: float | int) -> lgb.LGBMRegressor:
    """A LightGBM regressor on every core, as the notebook builds them, with the info log silenced."""
    return lgb.LGBMRegressor(**params, n_jobs=-1, verbose=-1)


def load_seed_frame(data_dir: Path) -> pd.DataFrame:
    """Read every parquet file in data_dir, concatenate, sort by timestamp, drop `cpu_temp_celsius_avg`."""
    frames = [pd.read_parquet(path) for path in sorted(Path(data_dir).glob("*.parquet"))]
    df = pd.concat(frames, ignore_index=True).sort_values(by="timestamp").reset_index(drop=True)
    if "cpu_temp_celsius_avg" in df.columns:
        df = df.drop("cpu_temp_celsius_avg", axis=1)
    return df


def _history_features(df: pd.DataFrame, window: int, overall_lags: int, core_lags: int) -> pd.DataFrame:
    """The notebook's feature recipe: workload one-hot, rolling mean/std of overall, lags; dropna + reset."""
    df_f = df.copy()
    df_f = pd.concat([df_f, pd.get_dummies(df_f["workload_type"], prefix="workload")], axis=1)
    df_f["overall_util_rolling_mean"] = df_f["cpu_util_overall"].rolling(window=window).mean()
    df_f["overall_util_rolling_std"] = df_f["cpu_util_overall"].rolling(window=window).std()
    other_cores = [c for c in df.columns if "cpu_util_core" in c and c != "cpu_util_core_0"]
    for i in range(1, overall_lags + 1):
        df_f[f"overall_util_lag_{i}"] = df_f["cpu_util_overall"].shift(i)
        if i <= core_lags:
            for core in other_cores:
                df_f[f"{core}_lag_{i}"] = df_f[core].shift(i)
    return df_f.drop("workload_type", axis=1).dropna().reset_index(drop=True)


def create_v2_0_features(df: pd.DataFrame) -> pd.DataFrame:
    """Short history (models v2.0 and v2.1): rolling(10), lags 1..5 of overall and of the other cores."""
    return _history_features(df, window=10, overall_lags=5, core_lags=5)


def create_v2_3_features(df: pd.DataFrame) -> pd.DataFrame:
    """Deep history (model v2.3): rolling(30), lags 1..20 of overall, lags 1..10 of the other cores."""
    return _history_features(df, window=30, overall_lags=20, core_lags=10)


def _feature_columns(frame: pd.DataFrame) -> list[str]:
    """Columns containing 'cpu_util' (except the target) or 'workload_', as the notebook selects them."""
    return [c for c in frame.columns if ("cpu_util" in c and c != TARGET) or "workload_" in c]


def run_notebook_pipeline(data_dir: Path) -> dict[str, float | int]:
    """Run the seed notebook's pipeline from loading to hold-out R²; return rows, r2_holdout and seconds."""
    start = time.perf_counter()
    df = load_seed_frame(data_dir)

    # Feature sets, "aligned" by positional index intersection (the notebook's defect, kept on purpose).
    df_v2_0 = create_v2_0_features(df)
    df_v2_3 = create_v2_3_features(df)
    common_indices = df_v2_0.index.intersection(df_v2_3.index)
    df_aligned_v2_0 = df_v2_0.loc[common_indices]
    df_aligned_v2_3 = df_v2_3.loc[common_indices]
    X_v2_0 = df_aligned_v2_0[_feature_columns(df_aligned_v2_0)]
    X_v2_3 = df_aligned_v2_3[_feature_columns(df_aligned_v2_3)]
    y = df_aligned_v2_0[TARGET]

    indices = np.arange(len(y))
    train_indices, test_indices = train_test_split(indices, test_size=0.2, random_state=42)

    model_v2_0 = _lgbm(**SEED_STANDIN_PARAMS["v2.0"])
    model_v2_1 = _lgbm(**SEED_STANDIN_PARAMS["v2.1"])
    model_v2_3 = _lgbm(**SEED_STANDIN_PARAMS["v2.3"])
    base_models = [
        ("pred_v2_0", model_v2_0, X_v2_0),
        ("pred_v2_1", model_v2_1, X_v2_0),
        ("pred_v2_3", model_v2_3, X_v2_3),
    ]
    y_train = y.iloc[train_indices]

    # Layer 1: out-of-fold predictions on the training rows (processes per core around threads per core).
    X_meta_train_L2 = pd.DataFrame({
        name: cross_val_predict(model, X.iloc[train_indices], y_train, cv=5, n_jobs=-1)
        for name, model, X in base_models
    })

    # Layer 2: RidgeCV and LightGBM meta-models, out-of-fold again.
    meta_model_X = RidgeCV()
    meta_model_Y = _lgbm(random_state=42)
    X_meta_train_L3 = pd.DataFrame({
        "pred_meta_X": cross_val_predict(meta_model_X, X_meta_train_L2, y_train, cv=5, n_jobs=-1),
        "pred_meta_Y": cross_val_predict(meta_model_Y, X_meta_train_L2, y_train, cv=5, n_jobs=-1),
    })

    # Layer 3: the unifying model with the deep model's parameters.
    unifying_model = lgb.LGBMRegressor(**model_v2_3.get_params())
    unifying_model.fit(X_meta_train_L3, y_train)

    # Evaluation. The stand-ins are not pre-trained, so each is fitted on the training rows first.
    X_meta_test_L2 = pd.DataFrame({
        name: model.fit(X.iloc[train_indices], y_train).predict(X.iloc[test_indices])
        for name, model, X in base_models
    })
    meta_model_X.fit(X_meta_train_L2, y_train)
    meta_model_Y.fit(X_meta_train_L2, y_train)
    X_meta_test_L3 = pd.DataFrame({
        "pred_meta_X": meta_model_X.predict(X_meta_test_L2),
        "pred_meta_Y": meta_model_Y.predict(X_meta_test_L2),
    })
    final_predictions = unifying_model.predict(X_meta_test_L3)
    r2 = r2_score(y.iloc[test_indices], final_predictions)

    return {"rows": int(len(y)), "r2_holdout": float(r2), "seconds": time.perf_counter() - start}


def main(argv: list[str]) -> None:
    """Run the notebook pipeline on the seed data (or the directory in argv[1]) and print the figures."""
    default_dir = Path(__file__).resolve().parents[2] / "shared/data/cosmos_telemetry_v2"
    data_dir = Path(argv[1]) if len(argv) > 1 else default_dir
    result = run_notebook_pipeline(data_dir)
    print(f"data:       {data_dir}")
    print(f"rows:       {result['rows']:,}")
    print(f"R² holdout: {result['r2_holdout']:.4f}")
    print(f"seconds:    {result['seconds']:.1f}")


if __name__ == "__main__":
    main(sys.argv)
