"""The block bootstrap of a hold-out R² gain and the verdict it gives (twin_core.verdicts)."""
import numpy as np
import pytest

from twin_core.verdicts import block_rows, gain_text, r2_gain_interval, signed_text, verdict


def _ar1(rng: np.random.Generator, sessions: int, rows: int, phi: float, sd: float) -> np.ndarray:
    """Per-session AR(1) series of stationary standard deviation `sd`, flattened session after session."""
    shocks = rng.normal(0, sd * np.sqrt(1 - phi ** 2), size=(sessions, rows))
    out = np.empty_like(shocks)
    out[:, 0] = rng.normal(0, sd, size=sessions)
    for t in range(1, rows):
        out[:, t] = phi * out[:, t - 1] + shocks[:, t]
    return out.ravel()


def _case(seed: int, sd_candidate: float, sd_reference: float, sessions: int = 10, rows: int = 500):
    """Target, two predictions with autocorrelated errors of known spread, and the session of every row."""
    rng = np.random.default_rng(seed)
    y = _ar1(rng, sessions, rows, 0.9, 1.0)
    candidate = y + _ar1(rng, sessions, rows, 0.8, sd_candidate)
    reference = y + _ar1(rng, sessions, rows, 0.8, sd_reference)
    return y, candidate, reference, np.repeat(np.arange(sessions), rows)


def test_the_interval_covers_the_true_r2_difference_in_most_samples_and_more_often_than_row_resampling():
    true_gain = 0.7 ** 2 - 0.6 ** 2  # (σ²_reference − σ²_candidate) / Var(y), with Var(y) = 1
    cases = [_case(seed, 0.6, 0.7) for seed in range(40)]
    blocks = [r2_gain_interval(*case, block=20, seed=seed) for seed, case in enumerate(cases)]
    single_rows = [r2_gain_interval(*case, block=1, seed=seed, resamples=200) for seed, case in enumerate(cases)]
    covered = sum(lo <= true_gain <= hi for lo, hi in blocks)
    assert covered >= 33  # nominal 95 %, i.e. 38 of 40
    assert sum(lo <= true_gain <= hi for lo, hi in single_rows) < covered - 3  # too narrow on autocorrelated rows
    assert all(hi - lo < 0.2 for lo, hi in blocks)


def test_a_gain_of_a_thousandth_on_noisy_data_is_within_noise():
    y, candidate, reference, sessions = _case(3, np.sqrt(0.5 - 0.001), np.sqrt(0.5), sessions=4)
    interval = r2_gain_interval(y, candidate, reference, sessions, block=20, seed=1)
    assert interval[0] < 0 < interval[1]
    assert verdict(interval) == "within noise"


@pytest.mark.parametrize("sd_candidate, sd_reference, expected", [(0.3, 0.8, "pays"), (0.8, 0.3, "costs")])
def test_a_clear_gain_pays_and_a_clear_loss_costs(sd_candidate, sd_reference, expected):
    y, candidate, reference, sessions = _case(5, sd_candidate, sd_reference)
    assert verdict(r2_gain_interval(y, candidate, reference, sessions, block=20, seed=1)) == expected


def test_the_interval_is_reproducible_for_the_same_seed_and_moves_with_another():
    data = _case(7, 0.6, 0.7)
    first = r2_gain_interval(*data, block=20, seed=42)
    assert r2_gain_interval(*data, block=20, seed=42) == first
    assert r2_gain_interval(*data, block=20, seed=43) != first


def test_a_gain_that_cannot_be_measured_has_no_interval_and_no_verdict():
    y, candidate, reference, sessions = _case(1, 0.5, 0.5, sessions=1, rows=15)
    assert r2_gain_interval(y, candidate, reference, sessions, block=20, seed=0) is None  # one block only
    flat = np.full(200, 50.0)
    assert r2_gain_interval(flat, flat + 1, flat - 1, np.zeros(200), block=20, seed=0) is None  # constant target
    assert verdict(None) == "n/a"


@pytest.mark.parametrize("lookback, expected", [(0, 20), (5, 20), (20, 20), (60, 60)])
def test_blocks_are_the_look_back_long_and_at_least_twenty_rows(lookback, expected):
    assert block_rows(lookback) == expected


@pytest.mark.parametrize("value, expected", [(0.0123, "+0.012"), (-0.0123, "−0.012"), (-0.0004, "0.000"),
                                             (0.0004, "0.000"), (-0.0, "0.000"), (1.3154, "+1.315")])
def test_a_gain_is_signed_with_the_typographic_minus_and_one_that_rounds_to_zero_has_no_sign(value, expected):
    assert signed_text(value) == expected


def test_an_interval_never_shows_minus_zero():
    assert gain_text(0.0031, (-0.0004, 0.0102)) == "+0.003 [0.000, +0.010]"
    assert gain_text(float("nan"), None) == "n/a" and gain_text(None, (0.1, 0.2)) == "n/a"
