"""Bootstrap confidence intervals of JNE over stimuli.

Each resample draws n_stimuli stimuli with replacement and recomputes,
per voxel, the population standard deviation of the L1 deviations
``d[i, m]`` over the drawn stimuli. The mean Jacobian ``Jbar`` inside
``d`` is held fixed at its value from all stimuli, because recomputing it
would need every Jacobian again for every resample. The intervals
therefore leave out the sampling variability of ``Jbar``. With multinomial
counts ``c`` (one row per resample) and deviations ``e = d - mean(d)``::

    JNE_b[m]**2 = sum_i c[b, i] e[i, m]**2 / N - (sum_i c[b, i] e[i, m] / N)**2

which is two matrix products per block of voxels. Centring on the full
mean first keeps the difference accurate.

Per ROI, the statistic is the mean JNE over the ROI's voxels, computed
from the same resamples, so its interval includes the correlation of
voxels that share stimuli.
"""

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jne.errors import ConfigError, DataError
from jne.jacobian.roi import group_by_roi
from jne.log import progress

logger = logging.getLogger(__name__)

# Default bytes of float64 work arrays per voxel block.
BOOTSTRAP_BLOCK_BYTES = 64 * 2**20


@dataclass
class BootstrapResult:
    """Bootstrap intervals of JNE.

    Attributes
    ----------
    jne : ndarray of shape (n_voxels,)
        JNE from all stimuli.
    ci_low, ci_high : ndarray of shape (n_voxels,)
        Percentile interval bounds at ``ci_level``.
    standard_error : ndarray of shape (n_voxels,)
        Standard deviation of the bootstrap JNE values (ddof = 1).
    roi_table : pandas.DataFrame or None
        One row per ROI: ``roi``, ``n_voxels``, ``jne_mean``,
        ``jne_ci_low``, ``jne_ci_high``, ``jne_standard_error``.
    n_bootstrap : int
    ci_level : float
    """

    jne: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    standard_error: np.ndarray
    roi_table: pd.DataFrame | None
    n_bootstrap: int
    ci_level: float


def _check(n_bootstrap, ci_level):
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 2:
        raise ConfigError(
            f"Invalid jacobian.n_bootstrap {n_bootstrap!r}: expected an "
            "integer >= 2 (1000 is usual)."
        )
    if not 0 < ci_level < 1:
        raise ConfigError(
            f"Invalid jacobian.ci_level {ci_level!r}: expected a fraction "
            "between 0 and 1, such as 0.95."
        )


def bootstrap_jne(
    deviation,
    *,
    n_bootstrap=1000,
    ci_level=0.95,
    seed=0,
    roi=None,
    block_bytes=None,
):
    """Compute bootstrap confidence intervals of JNE per voxel and ROI.

    Parameters
    ----------
    deviation : ndarray or h5py.Dataset of shape (n_stimuli, n_voxels)
        L1 deviations ``JNEResult.deviation``.
    n_bootstrap : int, default=1000
        Number of resamples of the stimuli.
    ci_level : float, default=0.95
        Coverage of the percentile intervals.
    seed : int, default=0
    roi : array of str of shape (n_voxels,), optional
        ROI name per voxel, ``""`` outside every ROI. Adds ``roi_table``.
    block_bytes : int, optional
        Size of the work arrays per voxel block.

    Returns
    -------
    BootstrapResult
    """
    _check(n_bootstrap, ci_level)
    n_stimuli, n_voxels = deviation.shape
    if n_stimuli < 2:
        raise DataError(
            "Bootstrap intervals need at least 2 stimuli, got " f"{n_stimuli}."
        )
    start = time.perf_counter()
    n_bootstrap = int(n_bootstrap)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(
        n_stimuli, np.full(n_stimuli, 1.0 / n_stimuli), size=n_bootstrap
    ).astype(np.float64)
    groups = group_by_roi(roi, n_voxels) if roi is not None else {}
    roi_sums = np.zeros((n_bootstrap, len(groups)))
    roi_of_voxel = np.full(n_voxels, -1)
    for position, index in enumerate(groups.values()):
        roi_of_voxel[index] = position

    jne = np.empty(n_voxels)
    ci_low = np.empty(n_voxels)
    ci_high = np.empty(n_voxels)
    standard_error = np.empty(n_voxels)
    tail = 100 * (1 - ci_level) / 2
    # Per voxel: the float64 block, its square and three (n_bootstrap,)
    # columns of results.
    per_voxel = 8 * (2 * n_stimuli + 3 * n_bootstrap)
    width = max(1, (block_bytes or BOOTSTRAP_BLOCK_BYTES) // per_voxel)
    for first in progress(
        range(0, n_voxels, width), desc="JNE bootstrap", unit="block"
    ):
        columns = slice(first, min(first + width, n_voxels))
        block = np.array(deviation[:, columns], dtype=np.float64)
        block -= block.mean(axis=0)
        jne[columns] = np.sqrt(np.mean(block**2, axis=0))
        first_moment = counts @ block / n_stimuli
        second_moment = counts @ (block**2) / n_stimuli
        resampled = np.sqrt(np.maximum(second_moment - first_moment**2, 0))
        ci_low[columns], ci_high[columns] = np.percentile(
            resampled, [tail, 100 - tail], axis=0
        )
        standard_error[columns] = resampled.std(axis=0, ddof=1)
        if groups:
            positions = roi_of_voxel[columns]
            inside = positions >= 0
            np.add.at(roi_sums.T, positions[inside], resampled[:, inside].T)

    roi_table = None
    if groups:
        sizes = np.array([len(index) for index in groups.values()])
        roi_means = roi_sums / sizes
        low, high = np.percentile(roi_means, [tail, 100 - tail], axis=0)
        roi_table = pd.DataFrame(
            {
                "roi": list(groups),
                "n_voxels": sizes,
                "jne_mean": [jne[index].mean() for index in groups.values()],
                "jne_ci_low": low,
                "jne_ci_high": high,
                "jne_standard_error": roi_means.std(axis=0, ddof=1),
            }
        )
    logger.info(
        "bootstrap of JNE: %d resamples of %d stimuli, %d voxels, %d ROIs "
        "in %.1f s",
        n_bootstrap,
        n_stimuli,
        n_voxels,
        len(groups),
        time.perf_counter() - start,
    )
    return BootstrapResult(
        jne=jne,
        ci_low=ci_low,
        ci_high=ci_high,
        standard_error=standard_error,
        roi_table=roi_table,
        n_bootstrap=n_bootstrap,
        ci_level=float(ci_level),
    )
