"""Cumulative cpu counters to utilisation: exact rates, and resets, missing cpus and pauses never give a number."""
from __future__ import annotations

import numpy as np
import pytest

from twin_core.telemetry.readers.counters import counter_segments
from twin_core.telemetry.report import ValidationReport

T0 = 1_795_000_000.0


def counters(busy_rates: list[list[float]], step: float = 1.0) -> tuple[np.ndarray, dict, dict]:
    """Cumulative busy/total counters of cpus that are busy at the given shares of each interval."""
    rates = np.asarray(busy_rates, dtype=float)  # intervals × cpus
    times = T0 + step * np.arange(len(rates) + 1)
    busy = np.vstack([np.zeros(rates.shape[1]), np.cumsum(rates * step, axis=0)])
    total = np.vstack([np.zeros(rates.shape[1]), np.cumsum(np.full_like(rates, step), axis=0)])
    return times, {c: busy[:, c] + 500.0 for c in range(rates.shape[1])}, \
        {c: total[:, c] + 1000.0 for c in range(rates.shape[1])}


def test_utilisation_is_the_busy_share_of_each_interval_stamped_at_its_end():
    times, busy, total = counters([[0.5, 0.1], [1.0, 0.0], [0.25, 0.75]])
    report = ValidationReport()
    (segment,) = counter_segments("c", times, busy, total, report)
    assert segment.times.tolist() == (T0 + np.array([1.0, 2.0, 3.0])).tolist()
    assert segment.cores[0] == pytest.approx([50.0, 100.0, 25.0])
    assert segment.cores[1] == pytest.approx([10.0, 0.0, 75.0])
    assert segment.overall is None and report.issues == []


def test_a_counter_reset_starts_a_new_segment_and_drops_the_interval_across_it():
    times, busy, total = counters([[0.5, 0.5]] * 6)
    for cpu in busy:  # a reboot after the fourth sample: counters start again from small values
        busy[cpu][4:] -= busy[cpu][4] - 1.0
        total[cpu][4:] -= total[cpu][4] - 2.0
    report = ValidationReport()
    first, second = counter_segments("c", times, busy, total, report)
    assert len(first.times) == 3 and len(second.times) == 2  # 6 intervals, the one across the reset left out
    assert np.allclose(first.cores[0], 50.0) and np.allclose(second.cores[1], 50.0)
    assert report.codes("warning") == ["counter_reset"]


def test_a_cpu_missing_from_a_sample_leaves_both_of_its_intervals_out():
    times, busy, total = counters([[0.2, 0.4]] * 5)
    busy[1][2] = np.nan
    report = ValidationReport()
    (segment,) = counter_segments("c", times, busy, total, report)
    assert segment.times.tolist() == [T0 + 1, T0 + 4, T0 + 5]
    assert np.allclose(segment.cores[1], 40.0)
    assert "2 intervals" in report.issues[0].message and report.codes() == ["missing_cpus"]


def test_a_long_pause_is_not_averaged_into_one_sample():
    times, busy, total = counters([[0.3, 0.3]] * 30)
    times = times.copy()
    times[20:] += 600.0  # ten minutes without samples before the 21st
    report = ValidationReport()
    (segment,) = counter_segments("c", times, busy, total, report)
    assert len(segment.times) == 29 and T0 + 620.0 not in segment.times.tolist()
    assert report.codes() == ["counter_pause"]


def test_own_aggregate_counters_give_the_overall():
    times, busy, total = counters([[0.5, 0.1], [0.2, 0.2]])
    report = ValidationReport()
    (segment,) = counter_segments("c", times, busy, total, report, overall_busy=busy[0] + busy[1],
                                  overall_total=total[0] + total[1])
    assert segment.overall == pytest.approx([30.0, 20.0])


def test_one_sample_is_refused_with_what_to_do():
    report = ValidationReport()
    assert counter_segments("c", np.array([T0]), {0: np.array([1.0])}, {0: np.array([2.0])}, report) == []
    assert report.codes("error") == ["empty_file"] and "at least two samples" in report.errors[0].message


def test_a_sample_without_the_aggregate_line_is_left_out_with_a_warning():
    times, busy, total = counters([[0.5, 0.1]] * 4)
    overall_busy, overall_total = busy[0] + busy[1], total[0] + total[1]
    overall_busy[2] = np.nan
    report = ValidationReport()
    (segment,) = counter_segments("c", times, busy, total, report, overall_busy=overall_busy,
                                  overall_total=overall_total)
    assert segment.times.tolist() == [T0 + 1, T0 + 4]
    assert segment.overall == pytest.approx([30.0, 30.0])
    assert report.codes() == ["missing_cpus"]
