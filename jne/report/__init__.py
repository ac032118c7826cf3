"""Reports: brain maps, surface and volume figures, per-ROI tables.

Functions take per-voxel arrays, a :class:`jne.dataset.Space`, a
:class:`jne.dataset.Atlas` and a :class:`DataLabel`, and write files; they
read no other stage's outputs. What each figure and table shows is
documented in ``docs/reports.md``.
"""

from .brain import plot_map
from .categories import (
    category_roi_matrix, category_table, plot_category_heatmap,
    write_category_table,
)
from .context import QUANTITIES, SIMULATED_NOTE, DataLabel, Quantity
from .hierarchy import (
    DEFAULT_ROI_GROUPS, combine_subject_tests, default_roi_groups,
    ordering_test, resolve_groups,
)
from .hierarchy_figures import (
    plot_hierarchy, plot_subject_group, plot_subjects,
)
from .layers import layer_table, plot_layers
from .maps import read_map, write_map, write_maps
from .meshes import load_template
from .placement import scatter_to_grid, scatter_to_mesh
from .recovery import plot_recovery, recovery_table, write_recovery_table
from .roi import roi_masks, roi_table, write_roi_table
from .scatter import plot_r2_scatter
from .surface import plot_surface_categories, plot_surface_map
from .volume import plot_volume_map, project_to_surface

__all__ = [
    "DEFAULT_ROI_GROUPS",
    "QUANTITIES",
    "SIMULATED_NOTE",
    "DataLabel",
    "Quantity",
    "category_roi_matrix",
    "category_table",
    "combine_subject_tests",
    "default_roi_groups",
    "layer_table",
    "load_template",
    "ordering_test",
    "plot_category_heatmap",
    "plot_hierarchy",
    "plot_layers",
    "plot_map",
    "plot_r2_scatter",
    "plot_recovery",
    "plot_subject_group",
    "plot_subjects",
    "plot_surface_categories",
    "plot_surface_map",
    "plot_volume_map",
    "project_to_surface",
    "read_map",
    "recovery_table",
    "resolve_groups",
    "roi_masks",
    "roi_table",
    "scatter_to_grid",
    "scatter_to_mesh",
    "write_category_table",
    "write_map",
    "write_maps",
    "write_recovery_table",
    "write_roi_table",
]
