"""The statistics behind the rollout evidence (numpy only, no database).

``did_estimate`` is the one estimator: the dashboard, the release plans and
the generator's simulation all call it.

Difference in differences, per user
    Every observation is ``(user, day, value)``: a closed deal (1 won, 0 lost),
    a campaign message (1 replied), an urgent message (hours to answer), ...
    Values are first centred on the day's mean of the observations of users
    not exposed on that day (the common time trend). For an exposed user,
    ``d = mean(after exposure) - mean(before)`` over ``window`` days each side;
    for a user not yet exposed, the same difference around a pseudo-exposure
    date (the median exposure date of the exposed users), the "after" part
    stopping where that user gets exposed. The estimate is
    ``mean(d exposed) - mean(d not yet exposed)``: each user is their own
    baseline, and the comparison group removes what changed for everyone.

Always-valid 95% confidence sequence
    The interval is the asymptotic normal-mixture confidence sequence
    (Waudby-Smith et al., "Time-uniform central limit theory", 2021; the form
    GrowthBook and LaunchDarkly use for sequential tests): with ``n`` users,
    ``s2 = n * se^2`` and tuning ``rho``,

        half-width = sqrt(s2) * sqrt(2 (n rho^2 + 1) / (n^2 rho^2) * log(sqrt(n rho^2 + 1) / alpha))

    It stays valid however often it is looked at (a release plan looks every
    day), at the price of being wider than a fixed-horizon interval.
    ``rho`` is tuned to be tightest at ``n_star`` users.

Sample-ratio check
    In a percentage phase, the share of active non-pilot users who were
    exposed should match the percentage; a chi-square test with p < 0.001
    flags a mismatch (exposure not recorded, or buckets not sticky).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

ALPHA = 0.05
#: Users at which the confidence sequence is tightest.
N_STAR = 200
#: Days before and after exposure compared.
WINDOW_DAYS = 42
SRM_P_VALUE = 0.001


@dataclass(frozen=True)
class Estimate:
    """A difference-in-differences estimate with its always-valid interval.

    ``effect``, ``low`` and ``high`` are None when there is not enough data
    (``enough`` False); the counts are always given.
    """

    effect: float | None
    low: float | None
    high: float | None
    exposed_users: int
    control_users: int
    events: int
    days: int
    enough: bool

    @property
    def significantly_negative(self) -> bool:
        return self.enough and self.high is not None and self.high < 0

    @property
    def significantly_positive(self) -> bool:
        return self.enough and self.low is not None and self.low > 0


def sequential_rho(alpha: float = ALPHA, n_star: float = N_STAR) -> float:
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / n_star)


def confidence_sequence_halfwidth(
    se: float, n: int, *, alpha: float = ALPHA, n_star: float = N_STAR
) -> float:
    """Half-width of the always-valid interval of an estimate with standard error ``se``."""
    if n <= 0:
        return math.inf
    rho2 = sequential_rho(alpha, n_star) ** 2
    s2 = n * se * se
    return math.sqrt(
        s2 * (2 * (n * rho2 + 1) / (n * n * rho2)) * math.log(math.sqrt(n * rho2 + 1) / alpha)
    )


def _group_means(keys: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    sums = np.bincount(keys, weights=values, minlength=size)
    counts = np.bincount(keys, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts, counts


def did_estimate(
    users: np.ndarray,
    days: np.ndarray,
    values: np.ndarray,
    exposures: dict[int, float],
    *,
    today: float,
    window: int = WINDOW_DAYS,
    min_users: int = 10,
    min_events: int = 100,
    alpha: float = ALPHA,
    n_star: float = N_STAR,
) -> Estimate:
    """Exposed against not-yet-exposed users, before against after (see the module docstring).

    ``users`` (ints), ``days`` (float days on any common scale) and ``values``
    are parallel arrays of observations; ``exposures`` maps a user to the day
    of their first exposure; observations on or after ``today`` are ignored.
    """
    users = np.asarray(users, dtype=np.int64)
    days = np.asarray(days, dtype=float)
    values = np.asarray(values, dtype=float)
    keep = days < today
    users, days, values = users[keep], days[keep], values[keep]
    exposed_days = [d for d in exposures.values() if d < today]
    if not len(users) or not exposed_days:
        return Estimate(None, None, None, len(exposed_days), 0, len(users), 0, False)

    ids, index = np.unique(users, return_inverse=True)
    exposure = np.array([exposures.get(int(u), math.inf) for u in ids])
    exposure_of_row = exposure[index]
    cut = float(np.median(exposed_days))
    is_exposed_user = exposure < today
    user_cut = np.where(is_exposed_user, exposure, cut)
    row_cut = user_cut[index]

    # The common time trend: each day's mean over users not exposed that day.
    day_index = np.floor(days).astype(np.int64)
    day_index -= day_index.min()
    untreated = days < exposure_of_row
    trend, trend_n = _group_means(day_index[untreated], values[untreated], int(day_index.max()) + 1)
    trend = np.where(trend_n > 0, trend, np.nan)
    centred = values - trend[day_index]

    before = (days < row_cut) & (days >= row_cut - window)
    after = (days >= row_cut) & (days < row_cut + window)
    # A comparison user's "after" stops when they get exposed.
    after &= is_exposed_user[index] | (days < exposure_of_row)
    valid = ~np.isnan(centred)
    before &= valid
    after &= valid

    mean_before, n_before = _group_means(index[before], centred[before], len(ids))
    mean_after, n_after = _group_means(index[after], centred[after], len(ids))
    has_both = (n_before > 0) & (n_after > 0)
    diff = mean_after - mean_before
    exposed = has_both & is_exposed_user
    control = has_both & ~is_exposed_user
    n_e, n_c = int(exposed.sum()), int(control.sum())
    events = int(before.sum() + after.sum())
    span = math.ceil(today - min(exposed_days))
    if n_e < min_users or n_c < min_users or events < min_events:
        return Estimate(None, None, None, n_e, n_c, events, span, False)
    d_e, d_c = diff[exposed], diff[control]
    effect = float(d_e.mean() - d_c.mean())
    se = math.sqrt(d_e.var(ddof=1) / n_e + d_c.var(ddof=1) / n_c)
    half = confidence_sequence_halfwidth(se, n_e + n_c, alpha=alpha, n_star=n_star)
    return Estimate(effect, effect - half, effect + half, n_e, n_c, events, span, True)


@dataclass(frozen=True)
class SampleRatio:
    expected_share: float
    exposed: int
    total: int
    p_value: float | None

    @property
    def mismatch(self) -> bool:
        return self.p_value is not None and self.p_value < SRM_P_VALUE

    @property
    def observed_share(self) -> float | None:
        return self.exposed / self.total if self.total else None


def sample_ratio(exposed: int, total: int, expected_share: float) -> SampleRatio:
    """Chi-square test of ``exposed`` out of ``total`` against the expected share."""
    if total < 20 or not 0 < expected_share < 1:
        return SampleRatio(expected_share, exposed, total, None)
    observed = [exposed, total - exposed]
    expected = [total * expected_share, total * (1 - expected_share)]
    p = float(scipy_stats.chisquare(observed, expected).pvalue)
    return SampleRatio(expected_share, exposed, total, p)
