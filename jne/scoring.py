"""Per-voxel scores of encoding-model predictions on held-out stimuli.

Units used throughout:

- ``r2`` is the coefficient of determination ``1 - SSE / SST`` as a
  fraction. It is 1 for a perfect prediction and negative when the
  prediction is worse than the test mean.
- ``noise_ceiling`` is in percent of variance (0 to 100), following the
  Natural Scenes Dataset (NSD).
- ``r2_fraction_of_ceiling`` is ``r2 / (noise_ceiling / 100)``, a fraction
  (1 means the model explains all explainable variance).

Significance follows Gao et al. (NeurIPS 2025): 200 bootstrap resamples of
the test stimuli, p as the fraction of resampled R² at or below 0, and
Benjamini-Hochberg FDR across voxels.
"""

import logging

import numpy as np
import pandas as pd

from jne.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

# Voxels per block in the chunked computations. By counting arrays, memory
# per block is about (4 * n_bootstrap + 3 * n_stimuli) * VOXEL_CHUNK * 8
# bytes.
VOXEL_CHUNK = 2048


def _as_2d(array, name):
    array = np.asarray(array)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DataError(
            f"{name} must have shape (n_stimuli, n_voxels), got "
            f"{array.shape}."
        )
    return array


def _check_pair(y_true, y_pred):
    y_true = _as_2d(y_true, "y_true")
    y_pred = _as_2d(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise DataError(
            f"y_true has shape {y_true.shape} but y_pred has shape "
            f"{y_pred.shape}. Predict the same stimuli and voxels."
        )
    return y_true, y_pred


def r2_score(y_true, y_pred):
    """Compute the coefficient of determination per voxel.

    Parameters
    ----------
    y_true, y_pred : array of shape (n_stimuli, n_voxels)

    Returns
    -------
    array of float64 of shape (n_voxels,)
        ``1 - sum((y - y_pred)**2) / sum((y - mean(y))**2)``, a fraction.
        NaN where ``y_true`` is constant.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    y_true = y_true.astype(np.float64)
    sse = ((y_true - y_pred) ** 2).sum(axis=0)
    sst = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 0, 1.0 - sse / sst, np.nan)


def pearson_r(y_true, y_pred):
    """Compute the Pearson correlation per voxel.

    Parameters
    ----------
    y_true, y_pred : array of shape (n_stimuli, n_voxels)

    Returns
    -------
    array of float64 of shape (n_voxels,)
        NaN where either input is constant.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    a = y_true - y_true.mean(axis=0, dtype=np.float64)
    b = y_pred - y_pred.mean(axis=0, dtype=np.float64)
    norm = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm > 0, (a * b).sum(axis=0) / norm, np.nan)


def bootstrap_r2(y_true, y_pred, n_bootstrap=200, seed=0):
    """Estimate a bootstrap p-value of R² > 0 per voxel.

    Test stimuli are resampled with replacement ``n_bootstrap`` times, the
    same resamples for every voxel. A resample is stored as the number of
    times each stimulus is drawn, so the resampled sums are one matrix
    product per block of voxels and no resampled copy of the data exists.

    Parameters
    ----------
    y_true, y_pred : array of shape (n_stimuli, n_voxels)
    n_bootstrap : int, default=200
    seed : int, default=0

    Returns
    -------
    array of float64 of shape (n_voxels,)
        ``(k + 1) / (n_bootstrap + 1)``, where k resamples have R² at or
        below 0. A resample in which ``y_true`` is constant counts as
        R² <= 0. The added one keeps the smallest p-value at
        ``1 / (n_bootstrap + 1)``: a plain fraction k / n_bootstrap is 0
        for every voxel with no such resample, and p-values of 0 pass the
        FDR correction at any level, so a few noise voxels would be
        declared significant when n_bootstrap is small.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    if n_bootstrap < 1:
        raise ConfigError(
            f"n_bootstrap must be >= 1, got {n_bootstrap}. The default is "
            "200."
        )
    n_stimuli, n_voxels = y_true.shape
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(
        n_stimuli, np.full(n_stimuli, 1.0 / n_stimuli), size=n_bootstrap
    ).astype(np.float64)
    p_values = np.empty(n_voxels)
    for start in range(0, n_voxels, VOXEL_CHUNK):
        block = slice(start, start + VOXEL_CHUNK)
        y = y_true[:, block].astype(np.float64)
        squared_error = (y - y_pred[:, block]) ** 2
        sse = counts @ squared_error
        total = counts @ y
        sst = counts @ (y**2) - total**2 / n_stimuli
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(sst > 0, 1.0 - sse / sst, -np.inf)
        below = (r2 <= 0).sum(axis=0)
        p_values[block] = (below + 1) / (n_bootstrap + 1)
    return p_values


def fdr_bh(p_values, q=0.05):
    """Apply the Benjamini-Hochberg false discovery rate procedure.

    Parameters
    ----------
    p_values : array of shape (n_tests,)
        NaN entries are left out of the procedure.
    q : float, default=0.05
        False discovery rate.

    Returns
    -------
    significant : array of bool of shape (n_tests,)
        True where the adjusted p-value is at or below ``q``.
    q_values : array of float64 of shape (n_tests,)
        Adjusted p-values ``min_{j >= i} p_(j) * m / j``, capped at 1, with
        ``m`` the number of non-NaN p-values. NaN where ``p_values`` is NaN.
    """
    if not 0 < q < 1:
        raise ConfigError(f"fdr_q must be in (0, 1), got {q}.")
    p_values = np.asarray(p_values, dtype=np.float64)
    q_values = np.full(p_values.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p_values))
    if valid.size:
        order = valid[np.argsort(p_values[valid], kind="stable")]
        ranks = np.arange(1, order.size + 1)
        adjusted = p_values[order] * order.size / ranks
        adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
        q_values[order] = np.minimum(adjusted, 1.0)
    significant = np.zeros(p_values.shape, dtype=bool)
    significant[valid] = q_values[valid] <= q
    return significant, q_values


def ncsnr_from_repeats(responses, stimulus, *, total_variance=1.0):
    """Estimate the noise-ceiling signal-to-noise ratio from repeats.

    NSD's definition: the noise variance is the mean, over stimuli shown at
    least twice, of the variance across repeats (ddof=1); the signal
    standard deviation is ``sqrt(max(total_variance - noise_variance, 0))``
    and ``ncsnr = signal_sd / noise_sd``.

    Parameters
    ----------
    responses : array of shape (n_trials, n_voxels)
        Single-trial responses, z-scored within sessions for NSD's formula.
    stimulus : array of shape (n_trials,)
        Stimulus shown on each trial (any hashable labels).
    total_variance : float or array of shape (n_voxels,), default=1.0
        Variance of the single-trial responses. 1 for z-scored responses,
        as NSD assumes.

    Returns
    -------
    array of float64 of shape (n_voxels,)
        NaN for every voxel when no stimulus is repeated. ``inf`` where
        the repeats are identical.
    """
    responses = _as_2d(responses, "responses")
    _, codes, counts = np.unique(
        np.asarray(stimulus), return_inverse=True, return_counts=True
    )
    codes = codes.ravel()
    if len(codes) != responses.shape[0]:
        raise DataError(
            f"stimulus has {len(codes)} labels but responses have "
            f"{responses.shape[0]} trials."
        )
    repeated = counts >= 2
    if not repeated.any():
        logger.info("No stimulus is repeated: ncsnr is NaN.")
        return np.full(responses.shape[1], np.nan)
    # Sort the trials of repeated stimuli by stimulus so that per-stimulus
    # sums are contiguous reductions.
    order = np.argsort(codes, kind="stable")
    order = order[repeated[codes[order]]]
    values = responses[order].astype(np.float64)
    group_counts = counts[repeated]
    starts = np.concatenate([[0], np.cumsum(group_counts)[:-1]])
    means = np.add.reduceat(values, starts, axis=0) / group_counts[:, None]
    centred = values - np.repeat(means, group_counts, axis=0)
    squares = np.add.reduceat(centred**2, starts, axis=0)
    variances = squares / (group_counts[:, None] - 1)
    noise_variance = variances.mean(axis=0)
    signal_variance = np.maximum(total_variance - noise_variance, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ncsnr = np.sqrt(signal_variance) / np.sqrt(noise_variance)
    return np.where(
        (noise_variance == 0) & (signal_variance == 0), np.nan, ncsnr
    )


def noise_ceiling(ncsnr, n_repeats):
    """Convert ncsnr to a noise ceiling in percent of variance.

    NSD's formula ``NC = 100 * n * ncsnr**2 / (1 + n * ncsnr**2)`` for
    responses averaged over ``n`` repeats. When test stimuli have different
    repeat counts, the noise variance of their averages is on average
    ``mean(1 / n_i)`` times the single-trial one, so ``1 / n`` is replaced
    by that mean.

    Parameters
    ----------
    ncsnr : array of shape (n_voxels,)
    n_repeats : int or array of int of shape (n_test_stimuli,)
        Number of trials averaged per test stimulus.

    Returns
    -------
    array of float64 of shape (n_voxels,)
        Noise ceiling in percent (0 to 100). NaN where ncsnr is NaN.
    """
    n_repeats = np.atleast_1d(np.asarray(n_repeats, dtype=np.float64))
    if n_repeats.size == 0 or np.any(n_repeats < 1):
        raise DataError(
            f"n_repeats must be one or more counts >= 1, got {n_repeats}."
        )
    inverse_n = np.mean(1.0 / n_repeats)
    snr2 = np.asarray(ncsnr, dtype=np.float64) ** 2
    with np.errstate(invalid="ignore"):
        ceiling = 100.0 * snr2 / (snr2 + inverse_n)
    return np.where(np.isposinf(snr2), 100.0, ceiling)


def score_predictions(
    y_true,
    y_pred,
    *,
    noise_ceiling=None,
    voxel=None,
    n_bootstrap=200,
    fdr_q=0.05,
    seed=0,
):
    """Score test predictions voxel by voxel.

    Parameters
    ----------
    y_true, y_pred : array of shape (n_stimuli, n_voxels)
        Measured and predicted responses to the test stimuli.
    noise_ceiling : array of shape (n_voxels,), optional
        Noise ceiling in percent, e.g. ``Prepared.noise_ceiling``.
    voxel : array of int of shape (n_voxels,), optional
        Voxel id per column, e.g. ``Prepared.voxel_index``. Defaults to
        ``0 .. n_voxels - 1``.
    n_bootstrap : int, default=200
    fdr_q : float, default=0.05
    seed : int, default=0
        Seed of the bootstrap resamples.

    Returns
    -------
    DataFrame
        One row per voxel with columns ``voxel``, ``r2`` (fraction),
        ``pearson_r``, ``p_value`` (bootstrap), ``q_value``
        (Benjamini-Hochberg), ``significant`` (``q_value <= fdr_q``),
        ``noise_ceiling`` (percent) and ``r2_fraction_of_ceiling``
        (``r2 / (noise_ceiling / 100)``, NaN where the ceiling is NaN or 0).
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    n_stimuli, n_voxels = y_true.shape
    logger.info(
        "Scoring %d voxels on %d test stimuli (%d bootstrap resamples).",
        n_voxels,
        n_stimuli,
        n_bootstrap,
    )
    r2 = np.empty(n_voxels)
    correlation = np.empty(n_voxels)
    for start in range(0, n_voxels, VOXEL_CHUNK):
        block = slice(start, start + VOXEL_CHUNK)
        r2[block] = r2_score(y_true[:, block], y_pred[:, block])
        correlation[block] = pearson_r(y_true[:, block], y_pred[:, block])
    p_values = bootstrap_r2(y_true, y_pred, n_bootstrap, seed)
    p_values[np.isnan(r2)] = np.nan
    significant, q_values = fdr_bh(p_values, fdr_q)

    if noise_ceiling is None:
        ceiling = np.full(n_voxels, np.nan)
    else:
        ceiling = np.asarray(noise_ceiling, dtype=np.float64)
        if ceiling.shape != (n_voxels,):
            raise DataError(
                f"noise_ceiling has shape {ceiling.shape}, expected "
                f"({n_voxels},), one value per voxel."
            )
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(ceiling > 0, r2 / (ceiling / 100.0), np.nan)
    if voxel is None:
        voxel = np.arange(n_voxels)
    logger.info(
        "%d of %d voxels significant at FDR q=%g; median R² %.4f.",
        int(significant.sum()),
        n_voxels,
        fdr_q,
        float(np.nanmedian(r2)) if np.isfinite(r2).any() else np.nan,
    )
    return pd.DataFrame(
        {
            "voxel": np.asarray(voxel),
            "r2": r2,
            "pearson_r": correlation,
            "p_value": p_values,
            "q_value": q_values,
            "significant": significant,
            "noise_ceiling": ceiling,
            "r2_fraction_of_ceiling": fraction,
        }
    )
