"""One entry point for brain figures, whatever the space of the data."""

from jne.errors import ConfigError

from .surface import plot_surface_map
from .volume import plot_volume_map


def plot_map(
    values,
    space,
    png_path,
    *,
    quantity,
    label,
    atlas=None,
    significant=None,
    significance_label="significant voxels",
    volume_template="native",
    template=None,
    background=None,
    dpi=100,
    vector_format="svg",
):
    """Plot a per-voxel map as a surface or a volume figure.

    Surface spaces go to :func:`jne.report.surface.plot_surface_map`,
    volume spaces to :func:`jne.report.volume.plot_volume_map`.

    Parameters
    ----------
    values : array of shape (n_voxels,)
    space : jne.dataset.Space
    png_path : str or Path
    quantity : str or Quantity
    label : DataLabel
    atlas : jne.dataset.Atlas, optional
    significant : array of bool of shape (n_voxels,), optional
    significance_label : str
    volume_template : {"native", "MNI152"}
        Space of volume grids; ignored for surfaces.
    template : SurfaceTemplate, optional
        Surface template for surface data; default from ``space.mesh``.
    background : str, Path or nibabel image, optional
        Anatomical background for native volumes.
    dpi : int
    vector_format : {"svg", "pdf"} or None

    Returns
    -------
    list of Path
    """
    common = dict(
        quantity=quantity, label=label, atlas=atlas, significant=significant,
        significance_label=significance_label, dpi=dpi,
        vector_format=vector_format,
    )
    if space.kind == "surface":
        return plot_surface_map(
            values, space, png_path, template=template, **common
        )
    if space.kind == "volume":
        return plot_volume_map(
            values, space, png_path, template=volume_template,
            background=background, **common,
        )
    raise ConfigError(
        f"Invalid space kind {space.kind!r}: use 'surface' or 'volume'."
    )
