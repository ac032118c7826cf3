"""Grouping of voxels by region of interest."""

import numpy as np

from jne.errors import DataError


def group_by_roi(roi, n_voxels):
    """Return the voxel positions of each ROI.

    Parameters
    ----------
    roi : array of str of shape (n_voxels,)
        ROI name per voxel, ``""`` for voxels outside every ROI (the
        output of ``jne.dataset.Atlas.voxel_names``, restricted to the
        voxels at hand).
    n_voxels : int
        Expected length, to catch an atlas of other voxels.

    Returns
    -------
    dict of str to ndarray of int
        Positions per ROI name, in sorted name order, without ``""``.
    """
    names = np.asarray(roi).astype(str)
    if names.shape != (n_voxels,):
        raise DataError(
            f"Invalid ROI labels of shape {names.shape}: expected one name "
            f"per voxel, shape ({n_voxels},)."
        )
    groups = {}
    for name in np.unique(names):
        if name:
            groups[str(name)] = np.flatnonzero(names == name)
    return groups
