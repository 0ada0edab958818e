"""The scoring math both prediction models share: a sign-constrained logistic
regression kept as plain arrays, its exact per-factor contributions, and the
held-out metrics (AUC, Brier, precision in the top 10%, reliability table).

Only numpy here; scipy and scikit-learn are imported inside the functions that
fit or measure. Training orchestration (which rows, which split, which
version) stays in ``training.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_features.capabilities.prediction.features import (
    OTHER,
    FeatureSpec,
    RawFeatures,
    attribute_feature_name,
)


@dataclass
class ChurnModel:
    """A logistic regression on standardized features, kept as plain arrays.

    Coefficients of features with a known direction (``features.DIRECTIONS``)
    carry that sign (see :func:`fit_sign_constrained`).
    """

    spec: FeatureSpec
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @property
    def feature_names(self) -> list[str]:
        return self.spec.names

    def standardize(self, matrix: np.ndarray) -> np.ndarray:
        return (matrix - self.mean) / self.scale

    def contributions(self, raw: RawFeatures) -> tuple[np.ndarray, np.ndarray]:
        """(model matrix, per-feature contributions) of each contact.

        Each column's term is ``coef_i * z_i``, except that columns which say
        one thing together are one factor: the one-hot columns of a category
        give their summed terms to the contact's own value ("Plan: starter",
        not also "Has a plan"), and an attribute and its missing indicator to
        whichever is true ("NPS not recorded", never an imputed "NPS: 8").
        And "No order in the last 90 days" (with nothing spent in them) is
        part of "Last order 120 days ago" when both push the same way. Rows still
        add up exactly to the log-odds minus the intercept.
        """
        matrix = self.spec.transform(raw)
        return matrix, self._one_factor_per_fact(matrix, self.standardize(matrix) * self.coef)

    def _one_factor_per_fact(self, matrix: np.ndarray, terms: np.ndarray) -> np.ndarray:
        spec, out = self.spec, terms.copy()
        index = {name: j for j, name in enumerate(spec.names)}
        for column, kept in spec.categories.items():
            values = [*kept, OTHER] if column in spec.other_columns else kept
            cols = np.array([index[f"{column}={value}"] for value in values])
            block = matrix[:, cols]
            rows = np.nonzero(block.max(axis=1) > 0.5)[0]
            total = out[np.ix_(rows, cols)].sum(axis=1)
            out[np.ix_(rows, cols)] = 0.0
            out[rows, cols[block[rows].argmax(axis=1)]] = total
        types = getattr(spec, "attribute_types", {})
        for key in spec.missing_indicators:
            a = index[attribute_feature_name(key, types.get(key, ""))]
            m = index[f"attr:{key} missing"]
            total = out[:, a] + out[:, m]
            missing = matrix[:, m] > 0.5
            out[:, a] = np.where(missing, 0.0, total)
            out[:, m] = np.where(missing, total, 0.0)
        days = index["days_since_last_order"]
        quiet = matrix[:, index["orders_90d"]] == 0
        for name in ("orders_90d", "spend_90d"):
            j = index[name]
            same_way = quiet & (np.sign(out[:, j]) * np.sign(out[:, days]) >= 0)
            out[:, days] += np.where(same_way, out[:, j], 0.0)
            out[:, j] = np.where(same_way, 0.0, out[:, j])
        return out

    def log_odds(self, raw: RawFeatures) -> np.ndarray:
        _, contributions = self.contributions(raw)
        return contributions.sum(axis=1) + self.intercept

    def predict_proba(self, raw: RawFeatures) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.log_odds(raw)))


def fit_sign_constrained(
    x: np.ndarray, y: np.ndarray, directions: np.ndarray, *, c: float = 1.0
) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) of an L2 logistic regression whose coefficients
    keep the sign ``directions`` gives (+1: >= 0, -1: <= 0, 0: free).

    The objective is scikit-learn's ``LogisticRegression(C=c)``:
    ``0.5 * |w|^2 + c * sum(log-loss)``, minimised by L-BFGS-B with the signs
    as bounds. Deterministic: no random start, no sampling.
    """
    # Lazy: scipy is only needed when a model is trained.
    from scipy.optimize import minimize
    from scipy.special import expit

    k = x.shape[1]
    target = y.astype(np.float64)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:k], params[k]
        z = x @ w + b
        value = c * float(np.sum(np.logaddexp(0.0, z) - target * z)) + 0.5 * float(w @ w)
        residual = c * (expit(z) - target)
        return value, np.concatenate([x.T @ residual + w, [residual.sum()]])

    bounds = [(0.0, None) if d > 0 else (None, 0.0) if d < 0 else (None, None) for d in directions]
    fitted = minimize(
        loss,
        np.zeros(k + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=[*bounds, (None, None)],
        options={"maxiter": 5000, "gtol": 1e-8, "ftol": 1e-12},
    )
    return fitted.x[:k].astype(np.float64), float(fitted.x[k])


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for k in range(bins):
        upper = p <= edges[k + 1] if k == bins - 1 else p < edges[k + 1]
        mask = (p >= edges[k]) & upper
        if mask.any():
            rows.append(
                {
                    "bin": f"{edges[k]:.1f}-{edges[k + 1]:.1f}",
                    "count": int(mask.sum()),
                    "predicted": round(float(p[mask].mean()), 4),
                    "observed": round(float(y[mask].mean()), 4),
                }
            )
    return rows


def churn_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    # Lazy: scikit-learn takes about a second to import; only training needs it.
    from sklearn.metrics import brier_score_loss, roc_auc_score

    top = max(1, int(np.ceil(0.1 * len(p))))
    order = np.argsort(-p, kind="stable")[:top]
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "precision_top10": round(float(y[order].mean()), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "base_rate": round(float(y.mean()), 4),
        "reliability": reliability_table(y, p),
    }


@dataclass
class WinModel:
    """The deal win model: a sign-constrained logistic regression on standardized
    features (``deal_features.WIN_FEATURES``), kept as plain arrays.

    ``stage_columns`` are the one-hot columns of the deal's stage: their terms
    are one factor, given to the deal's own stage ("In Negotiation"), so that
    rows still add up exactly to the log-odds minus the intercept.
    """

    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    stage_columns: list[int]

    def standardize(self, matrix: np.ndarray) -> np.ndarray:
        return (matrix - self.mean) / self.scale

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        terms = self.standardize(matrix) * self.coef
        if self.stage_columns:
            cols = np.array(self.stage_columns)
            total = terms[:, cols].sum(axis=1)
            own = cols[matrix[:, cols].argmax(axis=1)]
            terms[:, cols] = 0.0
            terms[np.arange(len(matrix)), own] = total
        return terms

    def log_odds(self, matrix: np.ndarray) -> np.ndarray:
        return self.contributions(matrix).sum(axis=1) + self.intercept

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.log_odds(matrix)))


def fit_standardized(
    x: np.ndarray, y: np.ndarray, directions: np.ndarray, *, c: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, coefficients, intercept) of a sign-constrained fit on standardized ``x``."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    coef, intercept = fit_sign_constrained((x - mean) / scale, y, directions, c=c)
    return mean, scale, coef, intercept


def population_stability(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` (deciles of the
    reference; 0.1 is a moderate shift, 0.25 a large one)."""
    # Both in single precision, as references are stored: a value equal to a bin
    # edge must fall in the same bin on both sides.
    reference = np.asarray(reference, dtype=np.float32)
    current = np.asarray(current, dtype=np.float32)
    if len(reference) == 0 or len(current) == 0:
        return 0.0
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(
        np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1
    )
    actual = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    e = np.clip(expected / expected.sum(), 1e-4, None)
    a = np.clip(actual / actual.sum(), 1e-4, None)
    return round(float(np.sum((a - e) * np.log(a / e))), 4)
