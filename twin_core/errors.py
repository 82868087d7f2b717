"""Named exceptions: every problem a user can cause has a class and a message that says what, where and what to do."""
from __future__ import annotations


class TwinError(Exception):
    """Base of every error the product reports to a person (CLI prints it on one line, the app shows it)."""


class TelemetryError(TwinError):
    """The telemetry cannot be used as given."""


class NotParquetError(TelemetryError):
    """A file is not a readable parquet file (wrong format or corrupt)."""


class SourceNotFoundError(TelemetryError):
    """A path given as telemetry does not exist."""


class EmptyTelemetryError(TelemetryError):
    """A file or the data as a whole holds no rows."""


class MissingColumnError(TelemetryError):
    """A required column (timestamp, workload_type, cpu_util_overall, the target) is absent."""


class MissingWorkloadError(TelemetryError):
    """Some rows have no workload_type label."""


class TooFewCoresError(TelemetryError):
    """Fewer than two per-core columns were found."""


class NonNumericError(TelemetryError):
    """A numeric column holds values that are not numbers."""


class NonFiniteError(TelemetryError):
    """A numeric column holds NaN or infinite values."""


class OutOfRangeError(TelemetryError):
    """A utilisation value lies outside 0..100 %."""


class BadTimestampError(TelemetryError):
    """Timestamps cannot be read as points in time."""


class SchemaMismatchError(TelemetryError):
    """Files loaded together disagree on their columns or types."""


class SessionTooShortError(TelemetryError):
    """The recordings are too short for the run asked of them: its windows, its hold-out or its folds."""


class ConfigError(TwinError, ValueError):
    """A feature, split or stack configuration is invalid (also a ValueError, as scikit-learn's conventions expect).

    `path` is the JSON path of the field at fault (`split.test_fraction`), when there is one; the message then
    starts with it, and `problem` is the rest.
    """

    def __init__(self, problem: str, path: str = "") -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path, self.problem = path, problem


class UntrustedModelError(TwinError):
    """A pre-trained model was asked for from outside the operator's trusted directory."""


class TrainingCancelled(TwinError):
    """Training was stopped by the user between two fits."""


class NestedColumnError(TelemetryError):
    """A required column holds lists, structs, maps or other objects instead of one plain value per row."""


class AmbiguousColumnError(TelemetryError):
    """Two columns claim the same name or the same core number (cpu_util_core_1 and cpu_util_core_01)."""


class MemoryBudgetError(TwinError):
    """Loading or training would need more memory than the budget allows (estimated before allocating it)."""


class FitError(TwinError):
    """A model of the stack failed to fit or predict; the message names the layer, the model and the fold."""


class StoreError(TwinError):
    """The run store cannot do what was asked (no store at the path, unknown run, damaged database, bad key)."""


class ArtifactSignatureError(StoreError, UntrustedModelError):
    """A stored artifact does not carry this store's signature for its run: it is not read."""


class UnstorableModelError(StoreError):
    """A run holds a model that the store cannot keep in a format that runs no code when read."""
