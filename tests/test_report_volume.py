import numpy as np
import pytest
from matplotlib.image import imread

from jne.errors import ConfigError
from jne.report import load_template, plot_map, project_to_surface
from jne.report.volume import plot_volume_map
from tests.report_inputs import (
    image_variance, label, volume_space_and_atlas, voxel_values,
)

DPI = 50
GROUPS = {"primary": ["V1"], "intermediate": ["V2", "V3"],
          "higher": ["FFC", "PHA1"]}


@pytest.fixture(scope="module")
def volume():
    space, atlas = volume_space_and_atlas()
    return space, atlas, voxel_values(atlas, groups=GROUPS)


def test_mni_volume_figure(tmp_path, volume):
    space, atlas, values = volume
    paths = plot_volume_map(
        values["jne"], space, tmp_path / "jne.png", quantity="jne",
        label=label(), template="MNI152", atlas=atlas,
        significant=values["significant"], dpi=DPI,
    )

    assert image_variance(paths[0]) > 1e-3
    svg = paths[1].read_text()
    assert "Glass brain" in svg
    assert "fsaverage5" in svg
    assert "SIMULATED RESPONSES" in svg


def test_native_volume_figure_differs(tmp_path, volume):
    space, atlas, values = volume
    first = plot_map(
        values["jne"], space, tmp_path / "jne.png", quantity="jne",
        label=label(), atlas=atlas, dpi=DPI, vector_format=None,
    )[0]
    second = plot_map(
        values["noise_ceiling"], space, tmp_path / "nc.png",
        quantity="noise_ceiling", label=label(), atlas=atlas, dpi=DPI,
        vector_format=None,
    )[0]

    assert image_variance(first) > 1e-3
    a, b = imread(first), imread(second)
    assert a.shape == b.shape
    changed = np.abs(a[..., :3] - b[..., :3]).max(axis=-1) > 0.1
    assert changed.mean() > 0.01


def test_volume_rejects_unknown_template(tmp_path, volume):
    space, _, values = volume
    with pytest.raises(ConfigError, match="'native'"):
        plot_volume_map(
            values["jne"], space, tmp_path / "x.png", quantity="jne",
            label=label(), template="Talairach",
        )


def test_projection_reaches_occipital_vertices(volume):
    space, atlas, values = volume
    template = load_template("fsaverage5")
    projected = project_to_surface(values["jne"], space, template=template)

    for hemi in ("L", "R"):
        data = projected[hemi]
        assert data.shape == (10242,)
        hit = np.isfinite(data)
        assert hit.sum() > 50
        # The grid covers y < -54 mm only.
        y = template.hemispheres[hemi].pial[0][:, 1]
        assert y[hit].max() < -40
        assert data[hit].min() >= values["jne"].min() - 1e-6
        assert data[hit].max() <= values["jne"].max() + 1e-6


def test_projection_of_constant_map_is_constant(volume):
    space, _, _ = volume
    projected = project_to_surface(np.full(space.n_voxels, 2.5), space)
    data = np.concatenate([projected["L"], projected["R"]])
    np.testing.assert_allclose(data[np.isfinite(data)], 2.5, rtol=1e-6)


def test_projection_of_labels_keeps_label_values(volume):
    space, atlas, _ = volume
    projected = project_to_surface(
        np.asarray(atlas.labels, float), space, labels=True
    )
    found = set()
    for data in projected.values():
        found |= set(np.unique(data[np.isfinite(data)]).astype(int))
    assert found <= {0, 1, 2, 3, 4, 5}
    assert {1, 2} <= found


def test_projection_needs_pial_and_white(volume):
    from dataclasses import replace

    space, _, values = volume
    template = load_template("fsaverage5")
    bare = replace(template, hemispheres={
        hemi: replace(surface, pial=None)
        for hemi, surface in template.hemispheres.items()
    })
    with pytest.raises(ConfigError, match="pial and white"):
        project_to_surface(values["jne"], space, template=bare)
