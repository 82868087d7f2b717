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
    """No recording session is long enough for the chosen feature windows."""


class ConfigError(TwinError):
    """A feature, split or stack configuration is invalid."""


class UntrustedModelError(TwinError):
    """A pre-trained model was asked for from outside the operator's trusted directory."""


class TrainingCancelled(TwinError):
    """Training was stopped by the user between two fits."""
