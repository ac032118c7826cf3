"""Combine NSD's ROI label files into one atlas and choose the voxel mask.

NSD ships ROIs as separate label files (prf-visualrois, floc-faces, ...),
which may overlap: an FFA voxel of floc-faces also carries an HCP_MMP1
area. The combined atlas gives each voxel one label, taken from the first
file in the configured order that labels it. So the order of the files is
their precedence.
"""

import logging
from dataclasses import dataclass

import numpy as np

from jne.dataset import Atlas
from jne.errors import ConfigError, DataError
from jne.sources.nsd_files import DamagedFileError

logger = logging.getLogger(__name__)


@dataclass
class LabelFile:
    """One ROI label file read onto the grid.

    Attributes
    ----------
    name : str
        File name without hemisphere and extension, e.g. ``"floc-faces"``.
    labels : array of int of shape (grid size,)
        Label index per voxel; 0 and negative values (NSD uses -1 outside
        the brain mask) mean unlabelled.
    names : dict of int to str
        Name of each label index, from the file's ``.ctab``.
    paths : tuple of Path
        Files the labels and names were read from, for error messages.
    """

    name: str
    labels: np.ndarray
    names: dict
    paths: tuple = ()


def clean_roi_name(name):
    """Drop the hemisphere prefix and ``_ROI`` suffix of atlas names.

    HCP-MMP1 tables name areas like ``L_V1_ROI``. Both hemispheres share
    one ROI name in jne, the way the other sources name them.
    """
    for prefix in ("L_", "R_", "lh.", "rh."):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if name.endswith("_ROI"):
        name = name[: -len("_ROI")]
    return name


def combine_atlas(label_files, merge_rois):
    """Combine label files into one label per voxel, first file first.

    Parameters
    ----------
    label_files : list of LabelFile
        In precedence order.
    merge_rois : dict of str to list of str
        New ROI name for groups of labels, e.g. ``{"V1": ["V1v", "V1d"]}``.
        Names are matched after :func:`clean_roi_name`.

    Returns
    -------
    labels : array of int of shape (grid size,)
        Combined label per voxel, 0 where no file labels it.
    names : dict of int to str
        ROI name of each combined label. A name that an earlier file
        already uses is prefixed with the file name, e.g.
        ``"HCP_MMP1/V1"``, so one name never mixes two definitions.
    """
    rename = {}
    for target, sources in merge_rois.items():
        for source in sources:
            rename[source] = target

    combined = np.zeros(len(label_files[0].labels), dtype=np.int32)
    names = {}
    index_of_name = {}
    owner_of_name = {}
    for label_file in label_files:
        labelled = label_file.labels > 0
        free = labelled & (combined == 0)
        overlap = int(labelled.sum() - free.sum())
        if overlap:
            logger.info(
                "ROI file %s labels %d voxels that an earlier file already "
                "labels: they keep the earlier label.",
                label_file.name,
                overlap,
            )
        for value in np.unique(label_file.labels[free]):
            name = label_file.names.get(int(value))
            if name is None:
                raise DamagedFileError(
                    f"ROI file {label_file.name} uses label {value}, which "
                    "its .ctab does not name, so the label and name files "
                    "do not belong together.",
                    label_file.paths,
                )
            name = clean_roi_name(name)
            name = rename.get(name, name)
            owner = owner_of_name.setdefault(name, label_file.name)
            if owner != label_file.name:
                name = f"{label_file.name}/{name}"
                owner_of_name.setdefault(name, label_file.name)
            if name not in index_of_name:
                index_of_name[name] = len(index_of_name) + 1
                names[index_of_name[name]] = name
            combined[free & (label_file.labels == value)] = index_of_name[name]
    return combined, names


def build_mask(mask_spec, label_files, combined, names):
    """Return the voxel mask for the ``mask`` option.

    Parameters
    ----------
    mask_spec : list of str
        ROI file names (every labelled voxel of the file) or ROI names of
        the combined atlas. The mask is their union.
    label_files : dict of str to LabelFile
        The files named in ``mask_spec``, read already.
    combined, names
        Output of :func:`combine_atlas`.

    Returns
    -------
    array of bool of shape (grid size,)
    """
    mask = np.zeros(len(combined), dtype=bool)
    index_of_name = {name: index for index, name in names.items()}
    for entry in mask_spec:
        if entry in label_files:
            selected = label_files[entry].labels > 0
        elif entry in index_of_name:
            selected = combined == index_of_name[entry]
        else:
            raise ConfigError(
                f"Invalid mask entry {entry!r}: it is neither an ROI file "
                "nor an ROI of the atlas. ROIs: "
                f"{', '.join(sorted(index_of_name))}."
            )
        if not selected.any():
            raise DataError(
                f"Mask entry {entry!r} selects no voxel. Choose another ROI "
                "or ROI file."
            )
        mask |= selected
    return mask


def masked_atlas(combined, names, mask):
    """Return the :class:`Atlas` of the masked voxels.

    Only ROIs with at least one voxel in the mask keep their name.
    """
    labels = combined[mask]
    present = set(np.unique(labels[labels > 0]).tolist())
    kept = {index: name for index, name in names.items() if index in present}
    dropped = sorted(set(names.values()) - set(kept.values()))
    if dropped:
        logger.info(
            "%d atlas ROIs have no voxel in the mask and are left out: %s",
            len(dropped),
            ", ".join(dropped),
        )
    return Atlas(labels=labels.astype(np.int32), names=kept)
