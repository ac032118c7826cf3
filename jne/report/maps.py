"""Brain maps in the data's own space: GIfTI for surfaces, NIfTI for volumes.

Per-voxel arrays cover only the analysed voxels. The writers scatter them
onto the full mesh of each hemisphere or onto the mask grid, with NaN
everywhere else, so that tools reading GIfTI or NIfTI can show them on
the template or grid. The tests read them back with nibabel and nilearn.
Every map gets a JSON sidecar with what it contains, its units, the data
label and the thresholding.

File names, for a map with stem ``jne``:

- surfaces: ``jne_hemi-L.func.gii`` and ``jne_hemi-R.func.gii``, one
  data array per map (one per category for JNE-SS), float32;
- volumes: ``jne.nii.gz``, float32, 3-D (4-D for JNE-SS with one volume
  per category);
- both: ``jne.json``, the sidecar.
"""

import logging
from pathlib import Path

import nibabel as nib
import numpy as np

from jne import __version__ as jne_version
from jne._atomic import atomic_path, write_json
from jne.errors import DataError

from .context import get_quantity
from .placement import scatter_to_grid, scatter_to_mesh

logger = logging.getLogger(__name__)

_STRUCTURE = {"L": "CortexLeft", "R": "CortexRight"}


def write_map(
    out_dir,
    values,
    space,
    quantity,
    label,
    *,
    stem=None,
    map_names=None,
    significant=None,
    threshold=False,
    significance="",
):
    """Write one map (or a stack of maps) and its JSON sidecar.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the files; created if missing.
    values : array of shape (n_voxels,) or (n_maps, n_voxels)
        Values of the analysed voxels in ``space`` order.
    space : jne.dataset.Space
    quantity : str or Quantity
        Key of :data:`jne.report.context.QUANTITIES`, e.g. ``"jne"``.
    label : DataLabel
    stem : str, optional
        File-name stem; defaults to the quantity key.
    map_names : list of str, optional
        Name of each row of a 2-D ``values`` (e.g. category names).
    significant : array of bool of shape (n_voxels,), optional
        Voxels that passed the significance test; required when
        ``threshold`` is True.
    threshold : bool
        If True, non-significant voxels are written as NaN as well.
    significance : str
        How ``significant`` was decided, copied into the sidecar.

    Returns
    -------
    list of Path
        Map files followed by the sidecar.
    """
    quantity = get_quantity(quantity)
    stem = stem or quantity.key
    out_dir = Path(out_dir)
    values = np.array(values, dtype=np.float32)
    if map_names is not None and (
        values.ndim != 2 or len(map_names) != values.shape[0]
    ):
        raise DataError(
            f"map_names has {len(map_names)} entries but values have shape "
            f"{values.shape}; give one name per row."
        )
    if threshold:
        if significant is None:
            raise DataError(
                f"Thresholding map {stem!r} needs the 'significant' mask."
            )
        values[..., ~np.asarray(significant, bool)] = np.nan

    if space.kind == "surface":
        paths = _write_gifti(out_dir, stem, values, space, map_names)
    else:
        paths = _write_nifti(out_dir, stem, values, space, quantity)

    sidecar = _sidecar(
        quantity, label, space, values, paths, map_names, significant,
        threshold, significance,
    )
    sidecar_path = out_dir / f"{stem}.json"
    write_json(sidecar_path, sidecar)
    logger.info(
        "Wrote map %s of %s to %s", stem, label.text(),
        ", ".join(str(p) for p in paths),
    )
    return paths + [sidecar_path]


def _write_gifti(out_dir, stem, values, space, map_names):
    paths = []
    for hemi, data in scatter_to_mesh(values, space).items():
        rows = data if data.ndim == 2 else data[None]
        arrays = []
        for index, row in enumerate(rows):
            meta = {"Name": map_names[index] if map_names else stem}
            arrays.append(
                nib.gifti.GiftiDataArray(
                    row.astype(np.float32),
                    intent="NIFTI_INTENT_ESTIMATE",
                    datatype="NIFTI_TYPE_FLOAT32",
                    meta=nib.gifti.GiftiMetaData(meta),
                )
            )
        image = nib.gifti.GiftiImage(
            darrays=arrays,
            meta=nib.gifti.GiftiMetaData(
                AnatomicalStructurePrimary=_STRUCTURE[hemi]
            ),
        )
        path = out_dir / f"{stem}_hemi-{hemi}.func.gii"
        with atomic_path(path) as tmp:
            nib.save(image, tmp)
        paths.append(path)
    return paths


def _write_nifti(out_dir, stem, values, space, quantity):
    grid = scatter_to_grid(values, space)
    image = nib.Nifti1Image(grid, np.asarray(space.affine, dtype=float))
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = quantity.title.encode("ascii", "replace")[:79]
    path = out_dir / f"{stem}.nii.gz"
    with atomic_path(path) as tmp:
        nib.save(image, tmp)
    return [path]


def _sidecar(
    quantity, label, space, values, paths, map_names, significant,
    threshold, significance,
):
    finite = values[np.isfinite(values)]
    if threshold:
        thresholding = (
            "Only significant voxels carry values; non-significant and "
            "non-analysed voxels are NaN."
        )
    else:
        thresholding = (
            "None: every analysed voxel carries its value; voxels outside "
            "the analysis are NaN."
        )
    sidecar = {
        "quantity": quantity.key,
        "title": quantity.title,
        "description": quantity.description,
        "units": quantity.units,
        "data": label.to_dict(),
        "space": _space_summary(space),
        "files": [p.name for p in paths],
        "outside_value": "NaN",
        "n_voxels_analysed": int(space.n_voxels),
        "thresholded": bool(threshold),
        "thresholding": thresholding,
        "significance": significance,
        "value_min": float(finite.min()) if finite.size else None,
        "value_max": float(finite.max()) if finite.size else None,
        "jne_version": jne_version,
    }
    if significant is not None:
        sidecar["n_voxels_significant"] = int(np.sum(significant))
    if map_names is not None:
        sidecar["maps"] = list(map(str, map_names))
        sidecar["map_axis"] = (
            "one GIfTI data array per map, in this order"
            if space.kind == "surface"
            else "fourth NIfTI axis, in this order"
        )
    return sidecar


def _space_summary(space):
    if space.kind == "surface":
        return {
            "kind": "surface",
            "mesh": space.mesh,
            "n_mesh_vertices": {
                k: int(v) for k, v in space.n_mesh_vertices.items()
            },
        }
    return {
        "kind": "volume",
        "shape": [int(s) for s in space.shape],
        "affine": np.asarray(space.affine, dtype=float).tolist(),
    }


def write_maps(
    out_dir,
    space,
    label,
    *,
    r2_linear=None,
    r2_nonlinear=None,
    noise_ceiling=None,
    jne=None,
    jne_normalised=None,
    jne_ss=None,
    categories=None,
    significant=None,
    threshold=False,
    significance="",
):
    """Write every map that has data, plus the R² difference and the mask.

    Parameters
    ----------
    out_dir : str or Path
    space : jne.dataset.Space
    label : DataLabel
    r2_linear, r2_nonlinear : array of shape (n_voxels,), optional
        Test R² (fraction of variance). Given both, ``r2_difference``
        (nonlinear minus linear) is written too.
    noise_ceiling : array of shape (n_voxels,), optional
        Noise ceiling in percent of variance.
    jne, jne_normalised : array of shape (n_voxels,), optional
    jne_ss : array of shape (n_categories, n_voxels), optional
        JNE-SS averaged per category; needs ``categories``.
    categories : list of str, optional
    significant : array of bool of shape (n_voxels,), optional
        Written as the ``significant`` map (1 or 0) when given.
    threshold : bool
        Write non-significant voxels as NaN in every map except the mask.
    significance : str
        How ``significant`` was decided, e.g. "nonlinear-model test R² > 0,
        bootstrap p, Benjamini-Hochberg q < 0.05".

    Returns
    -------
    dict of str to list of Path
        Files written per quantity key.
    """
    arrays = {
        "r2_linear": r2_linear,
        "r2_nonlinear": r2_nonlinear,
        "noise_ceiling": noise_ceiling,
        "jne": jne,
        "jne_normalised": jne_normalised,
    }
    if r2_linear is not None and r2_nonlinear is not None:
        arrays["r2_difference"] = np.asarray(r2_nonlinear) - np.asarray(
            r2_linear
        )
    common = dict(
        significant=significant, threshold=threshold,
        significance=significance,
    )
    written = {}
    for key, values in arrays.items():
        if values is not None:
            written[key] = write_map(
                out_dir, values, space, key, label, **common
            )
    if jne_ss is not None:
        if categories is None:
            raise DataError(
                "jne_ss was given without 'categories'; pass the category "
                "name of each row."
            )
        written["jne_ss"] = write_map(
            out_dir, jne_ss, space, "jne_ss", label,
            map_names=list(categories), **common,
        )
    if significant is not None:
        written["significant"] = write_map(
            out_dir,
            np.asarray(significant, dtype=np.float32),
            space,
            "significant",
            label,
            significant=significant,
            significance=significance,
        )
    return written


def read_map(path):
    """Read a map written by :func:`write_map` back into an array.

    Parameters
    ----------
    path : str or Path
        A ``.func.gii`` or ``.nii.gz`` file.

    Returns
    -------
    array
        GIfTI: shape (n_mesh_vertices,) or (n_maps, n_mesh_vertices).
        NIfTI: the grid, 3-D or 4-D.
    """
    path = Path(path)
    image = nib.load(path)
    if isinstance(image, nib.gifti.GiftiImage):
        rows = [array.data for array in image.darrays]
        return rows[0] if len(rows) == 1 else np.stack(rows)
    return np.asarray(image.dataobj)
