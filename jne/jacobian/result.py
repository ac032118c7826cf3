"""The object ``compute_jne`` returns."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class JNEResult:
    """JNE, JNE-SS and the L1 deviations they come from.

    Attributes
    ----------
    jne : ndarray of shape (n_voxels,), float64
    jne_ss : ndarray or h5py.Dataset of shape (n_rows, n_voxels)
        In the compute dtype, one row per stimulus in ``stimuli``. An
        HDF5 dataset when ``jne_ss_path`` was given, readable until
        :meth:`close`.
    deviation : ndarray or h5py.Dataset of shape (n_rows, n_voxels)
        ``d[i, m] = ||J_i[m] - Jbar[m]||_1``, the input of bootstrap
        intervals.
    mean_jacobian_l1 : ndarray of shape (n_voxels,), float64
        Mean over stimuli of ``||J_i[m]||_1``, the voxel's gain.
    jne_normalised : ndarray of shape (n_voxels,), float64
        ``jne / mean_jacobian_l1``, NaN where the Jacobian is all zero.
    mode : str
        Path that ran: ``"fast"``, ``"forward"``, ``"reverse"``,
        ``"approximate-fast"`` or ``"approximate-forward"``.
    dtype, device : str
    voxels : ndarray of int of shape (n_voxels,)
        Model output columns of the voxels, in column order.
    stimuli : ndarray of int of shape (n_rows,)
        Input rows of the stimuli in ``jne_ss`` and ``deviation``: all of
        them, or the sampled ones in the approximate mode.
    plan : dict
        Chunk sizes used (see ``jne.jacobian.chunking``).
    elapsed_s : float
        Wall time of the computation in seconds.
    path : Path or None
        HDF5 file of ``deviation`` and ``jne_ss``.
    approximation : dict or None
        In the approximate mode: the number of sampled stimuli and the
        error against exact JNE on checked voxels (see
        ``jne.jacobian.approximate.summarise_error``).
    """

    jne: np.ndarray
    jne_ss: object
    deviation: object
    mean_jacobian_l1: np.ndarray
    jne_normalised: np.ndarray
    mode: str
    dtype: str
    device: str
    voxels: np.ndarray
    stimuli: np.ndarray
    plan: dict
    elapsed_s: float
    path: Path | None = None
    approximation: dict | None = None
    file: object = field(default=None, repr=False)

    @property
    def n_stimuli(self):
        """Number of stimuli with deviations (rows of ``jne_ss``)."""
        return self.deviation.shape[0]

    @property
    def n_voxels(self):
        """Number of voxels (columns of ``jne_ss``)."""
        return self.deviation.shape[1]

    def close(self):
        """Close the HDF5 file behind ``jne_ss`` and ``deviation``, if any."""
        if self.file is not None:
            self.file.close()
            self.file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
