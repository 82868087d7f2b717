"""`python -m twin_core`: train, validate and make demo data from the shell, with the same pipeline as the app."""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn


from twin_core.anomalies import band_frame, best_key, episodes_text, find_episodes, label_frame, score_episodes
from twin_core.artifacts import check_storable
from twin_core.budget import parse_size
from twin_core.config import INTERVAL_METHODS, MAX_EPISODE_SAMPLES, RunConfig
from twin_core.demo import (ANOMALY_LABELS, FLEET_EXTRA_CORES, read_injected_anomalies, write_demo_fleet,
                            write_demo_parquet)
from twin_core.engine import ENGINES, SCHEDULER_ENV, open_engine
from twin_core.errors import ConfigError, TelemetryError, TrainingCancelled, TwinError
from twin_core.evaluate import REFERENCE_BY_KIND, model_words, score_text
from twin_core.fleet import FleetOptions, discover_hosts, host_summary, train_fleet, worst_first
from twin_core.pipeline import plan_rows, train_twin
from twin_core.presets import PRESETS, get_preset
from twin_core.recorder import MIN_INTERVAL_S, record
from twin_core.report import ReportedRun, build_report
from twin_core.runs import read_run_outputs, save_run_outputs
from twin_core.schema import MAX_CONFIG_BYTES, MAX_FOLDS, MAX_LOOKBACK_ROWS, MAX_N_JOBS
from twin_core.splits import CV_KINDS, HOLDOUT_KINDS
from twin_core.store import RunStore
from twin_core.sweep import (
    MAX_RUNS, check_memory, expand, read_grid, run_row, sweep_document, sweep_text, train_sweep, winner,
)
from twin_core.telemetry import SessionRule, Telemetry, load_telemetry, validate_sources
from twin_core.telemetry.labels import UNLABELLED
from twin_core.telemetry.options import MAX_SCHEDULE_BYTES, SourceOptions
from twin_core.telemetry.readers import formats_text
from twin_core.telemetry.writing import write_telemetry
from twin_core.verdicts import gain_text
from twin_core.wording import LEAKY_WARNING, files_label, kind_title

EXIT_OK, EXIT_ERROR, EXIT_INVALID_DATA, EXIT_CANCELLED = 0, 1, 2, 3


FORMATS_HELP = f"Formats, told apart by content: parquet in our columns; {formats_text()}."
DATA_HELP = ("telemetry files or folders of them: parquet in our columns or a collector's export (see "
             "`convert --help` for the formats)")


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage mistake is one `error:` line and exit 1 (exit 2 means unusable data)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"error: {message} (see `{self.prog} --help`)\n")


def _flag_value(text: str) -> int | float | str:
    """A number flag's text as the number it spells (int, else float, else the text itself).

    Nothing is refused here: the configuration's typed rules judge the value and name the flag, so `--folds 2.5`
    and `--test-fraction nan` get the same one-line message as the same value in a config file.
    """
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


# the configuration field each flag sets, so a refused value names the flag the user typed
_FLAG_FIELDS = {"split.test_fraction": "--test-fraction", "split.gap": "--gap",
                "split.test_sessions": "--test-sessions", "stack.cv.n_splits": "--folds", "stack.n_jobs": "--n-jobs",
                "target": "--target", "intervals.nominal": "--interval-level"}


def _parser() -> argparse.ArgumentParser:

    parser = _Parser(prog="python -m twin_core",
                     description="Digital Twin Studio: train and check a CPU digital twin.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a hierarchical stack and print per-layer scores")
    train.add_argument("data", nargs="+", help=DATA_HELP)
    source = train.add_mutually_exclusive_group()
    source.add_argument("--preset", default="default", choices=sorted(PRESETS), help="named configuration")
    source.add_argument("--config", type=Path, help="a run configuration JSON file (see `config`)")
    train.add_argument("--target", help="core column to predict (default: the config's, cpu_util_core_0)")
    train.add_argument("--split", choices=HOLDOUT_KINDS, help="hold-out kind (default: session_tail)")
    train.add_argument("--test-fraction", type=_flag_value, metavar="F",
                       help="share of rows held out, strictly between 0 and 1 (default 0.2)")
    train.add_argument("--gap", type=_flag_value, metavar="ROWS",
                       help=f"purge gap in rows, 0 to {MAX_LOOKBACK_ROWS:,} (default: longest look-back)")
    train.add_argument("--test-sessions", type=_flag_value, nargs="+", metavar="ID",
                       help="whole_sessions: the session ids to hold out")
    train.add_argument("--cv", choices=CV_KINDS, help="out-of-fold scheme (default: blocked)")
    train.add_argument("--folds", type=_flag_value, metavar="K",
                       help=f"number of out-of-fold folds, 2 to {MAX_FOLDS} (default 5)")
    train.add_argument("--n-jobs", type=_flag_value, metavar="N",
                       help=f"fits run in parallel, 1 to {MAX_N_JOBS} (each model then uses one thread)")
    train.add_argument("--interval-level", type=_flag_value, metavar="P",
                       help="nominal level of every model's prediction interval, 0.5 to 0.99 (default 0.9)")
    train.add_argument("--interval-method", choices=INTERVAL_METHODS,
                       help="how intervals are calibrated on out-of-fold residuals: split (one width), workload (one "
                            "per workload) or local (scaled by the other cores' recent spread) (default split)")
    train.add_argument("--seed-compatible", action="store_true",
                       help="reproduce the notebook's LEAKY protocol: windows across sessions, random 20%% "
                            "hold-out, shuffled 5-fold")
    _session_options(train)
    _source_options(train)
    train.add_argument("--trusted-models", type=Path,
                       help="directory of pre-trained models the operator trusts, for 'pretrained' members "
                            "(default: $TWIN_TRUSTED_MODELS; none if unset)")
    train.add_argument("--out", type=Path, metavar="DIR",
                       help="write metrics.json, config.json, predictions.parquet and report.html (the run's report "
                            "to hand out: one HTML file that opens offline in any browser) here")
    train.add_argument("--store", nargs="?", const="", type=str, metavar="DB",
                       help="keep the run in the SQLite run store (default: $TWIN_STORE or runs/studio.sqlite), "
                            "created if missing; the store and its key are checked before training")
    train.add_argument("--label", help="a name for the kept run (default: the preset's)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _engine_options(train, "where the fits run: `local` (threads on this machine, the default) or `dask` (each "
                           "layer's fits as tasks on a Dask cluster: --scheduler's, else $TWIN_DASK_SCHEDULER's, "
                           "else a local cluster); the same scores either way")
    _budget_option(train)

    validate = sub.add_parser("validate", help="check telemetry and print the validation report")
    validate.add_argument("data", nargs="+", help=DATA_HELP)
    validate.add_argument("--target", default="cpu_util_core_0")
    validate.add_argument("--preset", choices=sorted(PRESETS),
                          help="also check the sessions, hold-out and folds as `train --preset` would, and refuse "
                               "what it would refuse (default: accept data that some preset can train, and warn "
                               "of each preset that would refuse it)")
    _session_options(validate)
    _source_options(validate)
    _budget_option(validate)

    convert = sub.add_parser(
        "convert", help="read collectors' exports (Prometheus, sysstat, collectl, /proc/stat logs, CSV) and write "
                        "one parquet file in our columns",
        description=f"Read telemetry in any format we read and write it as parquet in our columns. {FORMATS_HELP}")
    convert.add_argument("data", nargs="+", help=DATA_HELP)
    convert.add_argument("--out", type=Path, required=True, metavar="OUT.parquet", help="the parquet file to write")
    convert.add_argument("--target", default="cpu_util_core_0", help="the core a twin will predict (checked)")
    _session_options(convert)
    _source_options(convert)
    _budget_option(convert)

    demo = sub.add_parser("demo-data", help="write synthetic demo telemetry as parquet files")
    demo.add_argument("out_dir", type=Path)
    demo.add_argument("--rows", type=int, default=6000)
    demo.add_argument("--cores", type=int, default=8)
    demo.add_argument("--sessions", type=int, default=6)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--interval", type=float, default=0.1, metavar="S",
                      help="seconds between samples (default 0.1); `--interval 5 --rows 660 --sessions 12 --cores 4` "
                           "gives short 5 s recordings of 45-70 rows, as a typical collector writes")
    demo.add_argument("--response", action="store_true",
                      help="core 0 follows a known response: 0.5 x the other cores' mean + a per-workload offset "
                           "+ noise (twin_core.demo), so a behavioural twin and its what-if can be checked")
    demo.add_argument("--hosts", type=int, metavar="N",
                      help="write a demo fleet instead: one folder per host (host-01, host-02…), each with these "
                           f"options and a seed of its own; every second host has {FLEET_EXTRA_CORES} more cores and "
                           "every third runs only bursty workloads, so some hosts are harder to twin (see `fleet`)")
    demo.add_argument("--anomalies", type=int, default=0, metavar="N",
                      help="inject N labelled anomalies: bursts on core 0 that the other cores do not explain "
                           f"(overall measures them too); their labels go to {ANOMALY_LABELS} beside the files")
    demo.add_argument("--anomaly-tail", type=float, default=1.0, metavar="SHARE",
                      help="place the anomalies in the last SHARE of each session (default 1: anywhere; 0.18 puts "
                           "them where the default 20%% per-session hold-out lies, so a trained twin can find them)")

    fleet = sub.add_parser(
        "fleet", help="train one twin per host of a fleet, each an independent task (in parallel on this machine or "
                      "on a Dask cluster), write each host's outputs and list the hosts worst first",
        description="Train one twin per host. Hosts are found in DATA: a folder with one folder of telemetry files "
                    "per host (the folder names the host), host folders, or files with a `host` column (one host per "
                    "value). Each host's files are read and its features built on a worker; the client writes every "
                    "host's outputs and keeps the runs. A host that cannot be trained is listed with its reason and "
                    "the others go on. --memory-budget applies to each host's run, on its worker.")
    fleet.add_argument("data", nargs="+", help="a folder of host folders, host folders, or files with a `host` column")
    source = fleet.add_mutually_exclusive_group()
    source.add_argument("--preset", default="default", choices=sorted(PRESETS), help="named configuration")
    source.add_argument("--config", type=Path, help="a run configuration JSON file (see `config`)")
    fleet.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="write DIR/<host>/ with metrics.json, config.json, predictions.parquet and report.html "
                            "(as `train --out`) for every host, and DIR/fleet.json with the fleet's table")
    fleet.add_argument("--store", nargs="?", const="", type=str, metavar="DB",
                       help="keep every host's run in the SQLite run store (default: $TWIN_STORE or "
                            "runs/studio.sqlite), tagged with the fleet and its host, so the app's Fleet page lists it")
    _independent_runs_options(fleet, "hosts", "hosts trained side by side: local worker processes, or the workers of "
                                              "the local Dask cluster started when there is no scheduler (default: "
                                              "one per physical core)")

    sweep = sub.add_parser(
        "sweep", help="train every run of a grid (feature windows and lags, model sizes, layer compositions) as "
                      "independent runs and rank them by out-of-fold R²",
        description="Train the runs of a sweep grid (a JSON file: a base preset or configuration and the axes to "
                    "vary; see examples/sweep_quick.json and README, 'Sweeps') as independent runs, in parallel on "
                    "this machine or on a Dask cluster, with one progress bar over the runs. The data is checked "
                    "once here, then each worker reads the files itself. The winner is the run whose best model has "
                    f"the highest out-of-fold R² on its training rows, never chosen on the hold-out. At most "
                    f"{MAX_RUNS} runs.")
    sweep.add_argument("data", nargs="+", help=DATA_HELP)
    sweep.add_argument("--grid", type=Path, required=True, metavar="GRID.json", help="the sweep grid file")
    sweep.add_argument("--out", type=Path, metavar="DIR",
                       help="write DIR/sweep.json (the runs ranked, the winner, the grid) and DIR/run-NN/ with each "
                            "run's metrics.json, config.json and predictions.parquet (the winner's also report.html)")
    sweep.add_argument("--store", nargs="?", const="", type=str, metavar="DB",
                       help="keep every run in the SQLite run store (default: $TWIN_STORE or runs/studio.sqlite), "
                            "tagged with the sweep, so the app's Sweep and Compare pages show them")
    _independent_runs_options(sweep, "runs", "runs trained side by side (default: one per physical core)")

    config = sub.add_parser("config", help="print a preset as JSON, to edit and pass to `train --config`")
    config.add_argument("preset", choices=sorted(PRESETS))

    runs = sub.add_parser("runs", help="list, show or delete runs kept in the run store")
    runs.add_argument("action", choices=["list", "show", "delete"])
    runs.add_argument("run_id", nargs="?", help="the run (for show and delete)")
    runs.add_argument("--store", metavar="DB", help="the run store (default: $TWIN_STORE or runs/studio.sqlite); "
                                                    "never created here: only train --store creates one")

    anomalies = sub.add_parser(
        "anomalies", help="list a trained run's anomaly episodes: where the actual target left its best model's "
                          "band for at least --min-samples samples in a row, on the hold-out, largest first")
    anomalies.add_argument("run", help="a folder `train --out` wrote, or with --store a run id (see `runs list`)")
    anomalies.add_argument("--store", nargs="?", const="", type=str, metavar="DB",
                           help="read the run from the run store (default: $TWIN_STORE or runs/studio.sqlite)")
    anomalies.add_argument("--min-samples", type=int, metavar="N",
                           help="samples in a row outside the band that make an episode (default: the run's "
                                "anomalies.min_samples, 5 unless configured)")
    anomalies.add_argument("--labels", type=Path, metavar="DIR",
                           help=f"a demo folder written with --anomalies: score the episodes against its labels "
                                f"({ANOMALY_LABELS}), precision and recall, on the labels that lie in the hold-out")
    anomalies.add_argument("--top", type=int, default=20, metavar="N", help="episodes printed (default 20)")

    record_cmd = sub.add_parser("record", help="record this machine's CPU utilisation with psutil into a parquet "
                                               "file of our schema (Ctrl-C stops early and keeps the rows)")
    record_cmd.add_argument("out", type=Path, help="the parquet file to write (replaced if it exists)")
    record_cmd.add_argument("--seconds", type=float, required=True, metavar="S", help="how long to record")
    record_cmd.add_argument("--interval", type=float, default=0.1, metavar="S",
                            help=f"seconds between samples, at least {MIN_INTERVAL_S} (default 0.1, as the seed "
                                 "telemetry was recorded)")
    record_cmd.add_argument("--label", default=UNLABELLED,
                            help=f"the workload_type of every row (default {UNLABELLED})")
    record_cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _independent_runs_options(parser: argparse.ArgumentParser, what: str, workers_help: str) -> None:
    """The options of a command that trains independent runs (a fleet's hosts, a sweep's runs): where they train, how
    many side by side, the progress bar, the session rule and the memory budget."""
    _engine_options(parser, f"where the {what} train: `local` (worker processes on this machine, the default) or "
                            "`dask` (a Dask cluster: --scheduler's, else $TWIN_DASK_SCHEDULER's, else a local cluster)")
    parser.add_argument("--workers", type=_flag_value, metavar="N", help=workers_help)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    _session_options(parser)
    _budget_option(parser)


def _engine_options(parser: argparse.ArgumentParser, engine_help: str) -> None:
    """--engine and --scheduler, the same for every command that can run on a Dask cluster (checked together by
    _check_engine_options)."""
    parser.add_argument("--engine", choices=ENGINES, default="local", help=engine_help)
    parser.add_argument("--scheduler", metavar="ADDRESS", help=f"the Dask scheduler, e.g. tcp://HOST:8786 (default: "
                                                               f"${SCHEDULER_ENV}); --engine dask only")


def _session_options(parser: argparse.ArgumentParser) -> None:
    rule = SessionRule()
    parser.add_argument("--gap-factor", type=float, default=rule.gap_factor,
                        help="a pause longer than this many median sampling intervals (and than --min-gap-s) "
                             f"starts a new session (default {rule.gap_factor:g})")
    parser.add_argument("--min-gap-s", type=float, default=rule.min_gap_s,
                        help=f"pauses shorter than this many seconds never start a new session "
                             f"(default {rule.min_gap_s:g})")


def _source_options(parser: argparse.ArgumentParser) -> None:
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument("--workload", metavar="LABEL",
                        help="label every row with this workload (replaces a file's own labels)")
    labels.add_argument("--labels", type=Path, metavar="SCHEDULE.csv",
                        help="label rows by time from a CSV with the header start,end,label (ISO-8601 times, UTC "
                             "unless they carry an offset, or epoch seconds); rows outside every interval are "
                             "'unlabelled'")
    parser.add_argument("--timezone", default="UTC", metavar="TZ",
                        help="the IANA time zone of times printed without an offset (sar's text reports, collectl, "
                             "/proc/stat logs and CSVs with zone-less times, and --labels schedules): default UTC, "
                             "e.g. Europe/Berlin")


def _reading_options(args: argparse.Namespace) -> SourceOptions:
    """The --workload, --labels and --timezone flags as reading options; a bad schedule names its file."""
    schedule = None
    if args.labels is not None:
        with args.labels.open("rb") as file:
            schedule = file.read(MAX_SCHEDULE_BYTES + 1)
    try:
        return SourceOptions.from_inputs(args.workload, schedule, str(args.labels), args.timezone)
    except ConfigError as exc:
        if args.labels is not None and str(exc).startswith(str(args.labels)):
            raise
        raise ConfigError(f"{'--timezone' if 'time zone' in str(exc) else '--workload'}: {exc}") from None


def _budget_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory-budget", type=_memory_size, metavar="SIZE",
                        help="refuse, before allocating, data or a run whose estimated memory passes this "
                             "(e.g. 1.5GB, 800MB, 512MiB or bytes; default: $TWIN_MEMORY_BUDGET, else half of "
                             "the memory available)")


def _memory_size(text: str) -> int:
    """--memory-budget as bytes; a size that cannot be read is a usage error naming the option."""
    try:
        return parse_size(text, where="")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _read_config(path: Path) -> RunConfig:
    """A --config file, read no further than the size limit, and validated; a refusal names the file."""
    with path.open("rb") as file:
        text = file.read(MAX_CONFIG_BYTES + 1)
    try:
        return RunConfig.from_json(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _resolve_config(args: argparse.Namespace) -> RunConfig:
    """The preset or --config file with the flags applied, validated before any data is read."""
    config = _read_config(args.config) if args.config else get_preset(args.preset)
    split_changes = {k: v for k, v in {"kind": args.split, "test_fraction": args.test_fraction, "gap": args.gap,
                                       "test_sessions": args.test_sessions}.items() if v is not None}
    cv_changes = {k: v for k, v in {"kind": args.cv, "n_splits": args.folds}.items() if v is not None}
    config = replace(config, split=replace(config.split, **split_changes),
                     stack=replace(config.stack, cv=replace(config.stack.cv, **cv_changes)))
    if args.n_jobs is not None:
        config = replace(config, stack=replace(config.stack, n_jobs=args.n_jobs))
    if args.target is not None:
        config = replace(config, target=args.target)
    interval_changes = {k: v for k, v in {"nominal": args.interval_level, "method": args.interval_method}.items()
                        if v is not None}
    config = replace(config, intervals=replace(config.intervals, **interval_changes))
    if args.seed_compatible:
        config = config.as_seed_compatible()
    try:
        config.validate()
    except ConfigError as exc:
        flag = next((f for field, f in _FLAG_FIELDS.items() if exc.path.startswith(field)), None)
        if flag is None or getattr(args, flag[2:].replace("-", "_")) is None:
            raise
        raise ConfigError(f"{flag}: {exc.problem} (the configuration's {exc.path})") from None
    return config


class _ProgressBar:
    """A one-line text progress bar on stderr."""

    def __init__(self, enabled: bool):
        self.enabled, self.started = enabled, time.perf_counter()

    def __call__(self, done: int, total: int, message: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        elapsed = time.perf_counter() - self.started
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {elapsed:5.1f}s {message}"
        sys.stderr.write(line[:160].ljust(160))
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


OLD_RUN_KIND = ("Reconstruction twin (kept before runs recorded their kind; every twin then read "
                "cpu_util_overall).")


def format_report(metrics: dict) -> str:
    """The per-layer table printed at the end of `train`."""
    lines = [f"Run '{metrics['run']}' · target {metrics['target']} · rows train {metrics['rows']['train']}, "
             f"gap {metrics['rows']['gap']}, test {metrics['rows']['test']}",
             metrics.get("kind_sentence") or OLD_RUN_KIND,
             f"Hold-out: {metrics['split']['description']}",
             f"Out-of-fold: {metrics['split']['cv']['description']}",
             "", f"{'layer':>5}  {'model':<18} {'kind':<12} {'R² hold-out':>11} {'R² OOF':>8} {'MAE':>7} {'RMSE':>7}"]
    for m in metrics["models"]:
        lines.append(f"{m['layer']:>5}  {m['name']:<18} {m['kind']:<12} {score_text(m['r2_holdout'], '.4f'):>11} "
                     f"{score_text(m['r2_oof'], '.4f'):>8} {score_text(m['mae_holdout'], '.3f'):>7} "
                     f"{score_text(m['rmse_holdout'], '.3f'):>7}")
    lines.append("")
    lines.append("Baselines on the same hold-out rows:")
    for name, b in metrics["baselines"].items():
        lines.append(f"  {name:<13} R² {score_text(b['r2_holdout'], '.4f')}  "
                     f"MAE {score_text(b['mae_holdout'], '.3f')}  ({b['label']})")
    lines.append("")
    lines.append("Does each layer pay (best model by OOF R², hold-out gain over the layer below [95 % block-bootstrap "
                 "interval]; pays only when the whole interval is above 0)?")
    for g in metrics["layer_gain"]:
        verdict = g.get("verdict", "not judged (kept before verdicts)")
        verdict = "cannot tell (n/a)" if verdict == "n/a" else verdict
        lines.append(f"  layer {g['layer']}: {g['best_model']:<18} gain "
                     f"{gain_text(g['gain_holdout'], g.get('gain_ci95'), 4)} vs {g['compared_with']} → {verdict}")
    best = metrics["best"]
    lines.append("")
    lines.append(f"Best (selected by {best['selected_by']}): layer {best['layer']} '{best['name']}' "
                 f"R² hold-out {score_text(best['r2_holdout'], '.4f')}")
    if "interval" in best:  # runs kept before intervals have none
        band = best["interval"]
        covered = None if band["coverage_holdout"] is None else 100 * band["coverage_holdout"]
        lines.append(f"Interval ({band['method']}): nominal {100 * band['nominal']:.0f} %, covers "
                     f"{score_text(covered, '.1f')} % of hold-out rows, mean width "
                     f"{score_text(band['mean_width_holdout'], '.2f')} points")
    lines.append("Seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in metrics["seconds"].items()))
    lines.extend(f"Note: {n}" for n in metrics["notes"])
    return "\n".join(lines)


def _train(args: argparse.Namespace) -> int:

    config = _resolve_config(args)
    _check_out(args.out)
    store = None
    if args.store is not None:  # a store that cannot keep the run is refused before training, not after
        store = RunStore(args.store or None, create=True)
        check_storable(config)
    started = time.perf_counter()
    telemetry = load_telemetry(args.data, target=config.target, gap_factor=args.gap_factor,
                               min_gap_s=args.min_gap_s, memory_budget=args.memory_budget,
                               options=_reading_options(args))
    load_seconds = time.perf_counter() - started
    for issue in telemetry.report.grouped():
        if issue.level == "warning":
            print(f"warning: {issue.message}", file=sys.stderr)
    _check_engine_options(args)
    with warnings.catch_warnings(), open_engine(args.engine, args.scheduler) as engine:
        # the run's notes (printed below) already say which workloads were unseen
        warnings.filterwarnings("ignore", message=".*not seen in training", category=UserWarning)
        if args.engine == "dask" and not args.quiet:
            print(f"Fits run on {engine.describe()}", file=sys.stderr)
        result = train_twin(telemetry, config, on_progress=_ProgressBar(not args.quiet),
                            trusted_dir=args.trusted_models, memory_budget=args.memory_budget, engine=engine)
    result.seconds["load"] = load_seconds
    print(format_report(result.metrics))
    if args.out:
        _write_run_outputs(result, args.out, build_report(result, args.label or config.name,
                                                           files_label(tuple(Path(p).name for p in args.data))))
        print(f"Wrote {args.out / 'metrics.json'}, config.json, predictions.parquet and report.html")
    if store is not None:
        print(f"Kept as run {store.save(result, args.label)} in {store.path}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:

    presets = [args.preset] if args.preset else ["default", *sorted(set(PRESETS) - {"default"})]
    trains: list[str] = []
    refusals: dict[str, TwinError] = {}

    def can_train(telemetry: Telemetry) -> list[str]:
        """What the first preset that can train this data would adapt; raises the first refusal if none can."""
        notes: list[str] = []
        for name in presets:
            try:
                split, plan = plan_rows(telemetry, get_preset(name))
            except TwinError as exc:
                refusals[name] = exc
                continue
            if not trains:
                notes = [f"(--preset {name}) {note}" for note in (*split.notes, *plan.notes)]
            trains.append(name)
        if not trains:
            raise refusals[presets[0]]
        return notes

    report = validate_sources(args.data, target=args.target, gap_factor=args.gap_factor, min_gap_s=args.min_gap_s,
                              memory_budget=args.memory_budget, can_train=can_train,
                              options=_reading_options(args))
    if trains:
        for name, exc in refusals.items():
            report.add("warning", "preset_refuses",
                       f"`train --preset {name}` would refuse this data: {exc} Presets that can train it: "
                       f"{', '.join(trains)} (e.g. `train --preset {trains[0]}`).")
    issues = report.grouped()  # the same problem in several files or columns is one line
    for issue in issues:
        where = ", ".join(p for p in (issue.file, issue.column) if p)
        print(f"{issue.level:<7} {issue.code:<22} {issue.message}" + (f" [{where}]" if where else ""))
    errors = sum(issue.level == "error" for issue in issues)
    print("OK: the data can be used." if report.ok else f"{errors} error(s): the data cannot be used.")
    return EXIT_OK if report.ok else EXIT_INVALID_DATA


def _convert(args: argparse.Namespace) -> int:

    telemetry = load_telemetry(args.data, target=args.target, gap_factor=args.gap_factor, min_gap_s=args.min_gap_s,
                               memory_budget=args.memory_budget, options=_reading_options(args))
    for issue in telemetry.report.grouped():  # what was read how, and what was adapted, beside the file written
        print(f"{'note' if issue.level == 'info' else issue.level}: {issue.message}", file=sys.stderr)
    write_telemetry(telemetry.frame, args.out, telemetry.extra_columns)
    workloads = ", ".join(sorted(telemetry.frame["workload_type"].unique()))
    print(f"Wrote {args.out}: {len(telemetry.frame):,} rows, {telemetry.n_cores} cores, "
          f"{telemetry.n_sessions} session(s), workloads {workloads}")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:

    if args.hosts is not None and args.anomalies:
        raise ConfigError("--anomalies injects labelled bursts into one recording, not a fleet; leave out --hosts "
                          "or --anomalies.")
    if args.hosts is not None:
        folders = write_demo_fleet(args.out_dir, args.hosts, rows=args.rows, cores=args.cores, sessions=args.sessions,
                                   interval_s=args.interval, seed=args.seed, response=args.response)
        print(f"Wrote a demo fleet of {len(folders)} host(s) to {args.out_dir} (one folder of parquet files per host); "
              f"train it with `python -m twin_core fleet {args.out_dir} --out DIR`")
        return EXIT_OK
    paths = write_demo_parquet(args.out_dir, rows=args.rows, cores=args.cores, sessions=args.sessions,
                               interval_s=args.interval, seed=args.seed, response=args.response,
                               anomalies=args.anomalies, anomaly_tail=args.anomaly_tail)
    response = " (core 0 follows the known response to the other cores and the workload)" if args.response else ""
    labelled = f", with {args.anomalies} labelled anomalies ({ANOMALY_LABELS})" if args.anomalies else ""
    print(f"Wrote {len(paths)} parquet files to {args.out_dir}{response}{labelled}")
    return EXIT_OK


def _check_engine_options(args: argparse.Namespace) -> None:
    """--scheduler without --engine dask is a mistake worth one message, not a silently local run."""
    if args.scheduler and args.engine != "dask":
        raise ConfigError("--scheduler names a Dask scheduler; add --engine dask to train on it.")


def _check_out(out: Path | None) -> None:
    """--out is a folder (created if missing): a file there is refused before anything trains, not after."""
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError(f"--out: '{out}' is a file, not a folder; give a folder to write the outputs into (it is "
                          "created if missing).")


def _write_run_outputs(result: ReportedRun, out: Path, report: str) -> None:
    """What `--out` holds for one run: metrics.json, config.json, predictions.parquet (runs.save_run_outputs) and
    report.html, the run's report to hand out."""
    save_run_outputs(result, out)
    (out / "report.html").write_text(report, encoding="utf-8")


def _check_independent_runs(args: argparse.Namespace, what: str) -> None:
    """The checks of _independent_runs_options' flags (and --out), before any data is read: one message each."""
    _check_engine_options(args)
    _check_out(args.out)
    if args.workers is not None and (not isinstance(args.workers, int) or args.workers < 1):
        raise ConfigError(f"--workers: the {what} trained side by side must be a whole number of at least 1, "
                          f"got {args.workers!r}.")


def _fleet(args: argparse.Namespace) -> int:

    config = _read_config(args.config) if args.config else get_preset(args.preset)
    config.validate()
    _check_independent_runs(args, "hosts")
    store = None
    if args.store is not None:  # a store that cannot keep the runs is refused before any host trains
        store = RunStore(args.store or None, create=True)
        check_storable(config)
    hosts, failed = discover_hosts(args.data)
    fleet_id = datetime.now(timezone.utc).strftime("fleet-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    args.out.mkdir(parents=True, exist_ok=True)
    progress, total = _ProgressBar(not args.quiet), len(hosts) + len(failed)
    rows: list[dict] = []
    where = "no worker (no host to train)"
    if hosts:
        options = FleetOptions(args.memory_budget, args.gap_factor, args.min_gap_s)
        with open_engine(args.engine, args.scheduler, args.workers) as engine:
            where = engine.describe()
            progress(len(failed), total, f"training {len(hosts)} host(s) on {where}")
            for outcome in train_fleet(hosts, config, engine, options):
                if outcome.run is None:
                    failed.append(outcome)
                else:
                    _write_run_outputs(outcome.run, args.out / outcome.host.folder, outcome.report)
                    run_id = store.save(outcome.run, outcome.host.name, fleet=fleet_id,
                                        host=outcome.host.name) if store is not None else None
                    rows.append({**host_summary(outcome.host.name, outcome.run.metrics),
                                 "folder": outcome.host.folder, "run_id": run_id})
                progress(len(rows) + len(failed), total,
                         f"{outcome.host.name} {'failed' if outcome.run is None else 'trained'}")
    rows = worst_first(rows)
    failures = [{"host": f.host.name, "files": list(f.host.files), "error": f.error} for f in failed]
    (args.out / "fleet.json").write_text(json.dumps(
        {"fleet": fleet_id, "configuration": config.name, "kind": config.kind, "leaky": config.leaky,
         "engine": where, "store": str(store.path) if store is not None else None, "hosts": rows,
         "failed": failures}, indent=2, allow_nan=False))
    print(format_fleet(fleet_id, config, rows, failures))
    print(f"Wrote {args.out / 'fleet.json'} and each trained host's outputs in {args.out}/<host>/")
    if store is not None and rows:
        print(f"Kept {len(rows)} run(s) in {store.path} as fleet {fleet_id}")
    if not failed:
        return EXIT_OK
    print(f"error: {len(failed)} of {total} host(s) could not be trained (listed above).", file=sys.stderr)
    return EXIT_INVALID_DATA if all(f.invalid_data for f in failed) else EXIT_ERROR


def format_fleet(fleet_id: str, config: RunConfig, rows: list[dict], failures: list[dict]) -> str:
    """The table printed at the end of `fleet`: hosts worst first (best model's hold-out R² against the baseline the
    twin's kind must beat), then the hosts that failed with their reason."""
    reference = model_words(REFERENCE_BY_KIND[config.kind])
    width = max([len("host"), *(len(r["host"]) for r in rows)])
    lines = [f"Fleet {fleet_id} · configuration {config.name} ({kind_title(config.kind).lower()}) · "
             f"{len(rows)} host(s) trained, {len(failures)} failed · worst first"]
    if config.leaky:
        lines.append(LEAKY_WARNING)
    if rows:
        against = f"R² {reference}"
        lines += ["", f"{'host':<{width}}  {'best model':<24} {'R² hold-out':>11}  {against:>{len(against)}} "
                      f"{'gain':>7} {'rows train':>10} {'test':>7}"]
        lines += [f"{r['host']:<{width}}  {r['best_model']:<24} {score_text(r['best_r2_holdout'], '.4f'):>11}  "
                  f"{score_text(r['reference_r2_holdout'], '.4f'):>{len(against)}} "
                  f"{gain_text(r['gain'], None, 4):>7} {r['rows_train']:>10,} {r['rows_test']:>7,}" for r in rows]
    if failures:
        lines += ["", "Failed:"] + [f"  {f['host']}: {f['error']}" for f in failures]
    return "\n".join(lines)


def _sweep(args: argparse.Namespace) -> int:

    try:
        grid = read_grid(args.grid)
        runs = expand(grid)
    except ConfigError as exc:
        raise ConfigError(f"{args.grid}: {exc}") from None
    _check_independent_runs(args, "runs")
    store = None
    if args.store is not None:  # a store that cannot keep the runs is refused before any run trains
        store = RunStore(args.store or None, create=True)
        for run in runs:
            check_storable(run.config)
    sweep_id = datetime.now(timezone.utc).strftime("sweep-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    options = FleetOptions(args.memory_budget, args.gap_factor, args.min_gap_s)
    progress, rows, failures, best = _ProgressBar(not args.quiet), [], [], None
    with open_engine(args.engine, args.scheduler, args.workers) as engine:
        telemetry = load_telemetry(args.data, target=runs[0].config.target, gap_factor=args.gap_factor,
                                   min_gap_s=args.min_gap_s, memory_budget=args.memory_budget)
        check_memory(runs, telemetry, at_once=engine.workers, budget=args.memory_budget)
        del telemetry  # checked once here; each worker reads the files itself
        progress(0, len(runs), f"{len(runs)} run(s) on {engine.describe()}")
        for outcome in train_sweep(runs, args.data, engine, options):
            name, result = outcome.run.name, outcome.result
            if result is None:
                failures.append({"run": name, "error": outcome.error})
            else:
                rows.append(run_row(outcome.run, result.metrics))
                rows[-1]["run_id"] = store.save(result, name, sweep=sweep_id) if store is not None else None
                if args.out:
                    save_run_outputs(result, args.out / f"run-{outcome.run.index + 1:02d}")
                if best is None or winner([best[0], rows[-1]]) is rows[-1]:  # the winner's report is written
                    best = (rows[-1], result)
            progress(len(rows) + len(failures), len(runs), f"{name} {'failed' if result is None else 'trained'}")
        where = engine.describe()
    document = sweep_document(sweep_id, grid, rows, failures, engine=where,
                              store=str(store.path) if store is not None else None)
    print(sweep_text(document))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "sweep.json").write_text(json.dumps(document, indent=2, allow_nan=False))
        if best is not None:
            data_label = files_label(tuple(Path(p).name for p in args.data))
            _write_run_outputs(best[1], args.out / f"run-{best[0]['index'] + 1:02d}",
                               build_report(best[1], best[0]["run"], data_label))
        print(f"Wrote {args.out / 'sweep.json'} and each run's outputs in {args.out}/run-NN/")
    if store is not None and rows:
        print(f"Kept {len(rows)} run(s) in {store.path} as sweep {sweep_id}")
    if not failures:
        return EXIT_OK
    print(f"error: {len(failures)} of {len(runs)} run(s) could not be trained (listed above).", file=sys.stderr)
    return EXIT_ERROR


def _config(args: argparse.Namespace) -> int:

    print(get_preset(args.preset).to_json())
    return EXIT_OK


def _runs(args: argparse.Namespace) -> int:
    store = RunStore(args.store)
    if args.action == "list":
        table = store.list()
        if table.empty:
            print(f"No runs kept in {store.path}.")
            return EXIT_OK
        for column in ("best_r2_holdout", "identity_r2_holdout"):  # R² is null when the target was constant
            table[column] = table[column].map(lambda v: score_text(v, ".4f"))
        columns = ["id", "created_at", "label", "kind", "target", "best_name", "best_r2_holdout",
                   "identity_r2_holdout", "leaky"]
        print(table[columns].to_string(index=False))
        return EXIT_OK
    if not args.run_id:
        raise ConfigError(f"`runs {args.action}` needs a run id; see `runs list`.")
    if args.action == "show":
        print(format_report(store.metrics(args.run_id)))
    else:
        store.delete(args.run_id)
        print(f"Deleted run {args.run_id}.")
    return EXIT_OK


def _anomalies(args: argparse.Namespace) -> int:

    if args.min_samples is not None and not 1 <= args.min_samples <= MAX_EPISODE_SAMPLES:
        raise ConfigError(f"--min-samples must be at least 1 and at most {MAX_EPISODE_SAMPLES:,} samples in a row (as "
                          f"a run's anomalies.min_samples), got {args.min_samples}.")
    if args.top < 1:
        raise ConfigError(f"--top: the episodes printed must be at least 1, got {args.top}.")
    if args.labels is not None and not args.labels.is_dir():
        raise ConfigError(f"--labels: '{args.labels}' is not a folder; pass the folder `demo-data DIR --anomalies N` "
                          "wrote (its labels are DIR/.injected_anomalies.json).")
    if args.store is not None:
        store = RunStore(args.store or None)
        predictions, metrics, config = store.predictions(args.run), store.metrics(args.run), store.config(args.run)
    else:
        predictions, metrics, config = read_run_outputs(args.run)
    min_samples = config.anomalies.min_samples if args.min_samples is None else args.min_samples
    key = best_key(metrics)
    frame = band_frame(predictions, key)
    if len(frame) and not (frame["lower"].notna() | frame["upper"].notna()).any():
        raise ConfigError(f"{model_words(key)} has no prediction band in this run (too few out-of-fold rows to "
                          "calibrate its nominal level), so no episode can be found; train on more rows or with a "
                          "lower --interval-level.")
    found = find_episodes(frame, min_samples)
    score = None
    if args.labels is not None:
        labels = read_injected_anomalies(args.labels)
        if labels is None:
            raise ConfigError(f"'{args.labels}' holds no anomaly labels ({ANOMALY_LABELS}); write demo data with "
                              "`demo-data DIR --anomalies N`.")
        placed = label_frame(labels, frame)
        score = score_episodes(found, placed[placed["in_band"]])
    print(episodes_text(found, key, len(frame), min_samples, score, top=args.top))
    if score is not None and score["labels"] < len(labels):
        print(f"({len(labels) - score['labels']} more labelled anomalies lie outside the hold-out, in rows the twin "
              "trained on: not scored; `demo-data --anomaly-tail 0.18` places them where the default hold-out is)")
    return EXIT_OK


def _record(args: argparse.Namespace) -> int:

    recording = record(args.out, args.seconds, args.interval, args.label, on_progress=_ProgressBar(not args.quiet))
    if recording.stopped_early and not args.quiet:
        sys.stderr.write("\n")  # end the progress line that stopped short
    if recording.lag:
        print(f"warning: {recording.lag}", file=sys.stderr)
    if not recording.rows:
        print("cancelled: stopped before the first sample; nothing was written", file=sys.stderr)
        return EXIT_CANCELLED
    if recording.stopped_early:
        print(f"Stopped early (Ctrl-C): kept {recording.rows:,} of {recording.planned:,} rows in {recording.path}")
    else:
        print(f"Recorded {recording.rows:,} rows ({recording.n_cores} cpus every {args.interval:g} s, "
              f"label '{args.label.strip()}') to {recording.path}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a TwinError becomes a one-line message and a non-zero exit, never a traceback."""
    args = _parser().parse_args(argv)
    handlers = {"train": _train, "validate": _validate, "convert": _convert, "demo-data": _demo, "config": _config,
                "runs": _runs, "record": _record, "anomalies": _anomalies, "fleet": _fleet, "sweep": _sweep}
    try:
        return handlers[args.command](args)
    except TrainingCancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return EXIT_CANCELLED
    except TelemetryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID_DATA
    except TwinError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename})" if exc.filename else f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("cancelled: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
