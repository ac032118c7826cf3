"""Reports: brain maps, surface and volume figures, per-ROI tables.

Functions take per-voxel arrays, a :class:`jne.dataset.Space`, a
:class:`jne.dataset.Atlas` and a :class:`DataLabel`, and write files; they
read no other stage's outputs. What each figure and table shows is
documented in ``docs/reports.md``.
"""

from .brain import plot_map
from .context import QUANTITIES, SIMULATED_NOTE, DataLabel, Quantity
from .maps import read_map, scatter_to_grid, scatter_to_mesh, write_map
from .maps import write_maps
from .meshes import load_template
from .surface import plot_surface_categories, plot_surface_map
from .volume import plot_volume_map, project_to_surface

__all__ = [
    "QUANTITIES",
    "SIMULATED_NOTE",
    "DataLabel",
    "Quantity",
    "load_template",
    "plot_map",
    "plot_surface_categories",
    "plot_surface_map",
    "plot_volume_map",
    "project_to_surface",
    "read_map",
    "scatter_to_grid",
    "scatter_to_mesh",
    "write_map",
    "write_maps",
]
