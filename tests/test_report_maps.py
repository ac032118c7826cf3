import json

import nibabel as nib
import numpy as np
import pytest

from jne.dataset import Space
from jne.errors import DataError
from jne.report import read_map, scatter_to_grid, scatter_to_mesh
from jne.report import write_map, write_maps
from tests.report_inputs import (
    CATEGORIES, label, surface_space_and_atlas, volume_space_and_atlas,
    voxel_values,
)


@pytest.fixture(scope="module")
def surface():
    space, atlas = surface_space_and_atlas(stride=4)
    return space, atlas, voxel_values(atlas)


@pytest.fixture(scope="module")
def volume():
    space, atlas = volume_space_and_atlas()
    return space, atlas, voxel_values(atlas)


def test_scatter_to_mesh_places_values(surface):
    space, _, values = surface
    full = scatter_to_mesh(values["jne"], space)

    for hemi in ("L", "R"):
        selected = space.hemisphere == hemi
        assert full[hemi].shape == (32492,)
        np.testing.assert_allclose(
            full[hemi][space.vertex[selected]],
            values["jne"][selected].astype(np.float32),
        )
        outside = np.ones(32492, bool)
        outside[space.vertex[selected]] = False
        assert np.isnan(full[hemi][outside]).all()


def test_scatter_to_mesh_rejects_bad_vertex(surface):
    space, _, values = surface
    bad = Space(
        kind="surface", mesh="fsLR32k", hemisphere=space.hemisphere,
        vertex=space.vertex.copy(), n_mesh_vertices={"L": 100, "R": 100},
    )
    with pytest.raises(DataError, match="mesh has 100 vertices"):
        scatter_to_mesh(values["jne"], bad)


def test_scatter_to_grid_places_values(volume):
    space, _, values = volume
    grid = scatter_to_grid(values["jne"], space)

    assert grid.shape == space.shape
    i, j, k = space.ijk.T
    np.testing.assert_allclose(
        grid[i, j, k], values["jne"].astype(np.float32)
    )
    assert np.isnan(grid).sum() == grid.size - space.n_voxels


def test_scatter_rejects_wrong_length(volume):
    space, _, values = volume
    with pytest.raises(DataError, match="expected"):
        scatter_to_grid(values["jne"][:-1], space)


def test_gifti_round_trip(tmp_path, surface):
    space, _, values = surface
    paths = write_map(tmp_path, values["jne"], space, "jne", label())

    names = sorted(p.name for p in paths)
    assert names == ["jne.json", "jne_hemi-L.func.gii", "jne_hemi-R.func.gii"]
    for hemi in ("L", "R"):
        image = nib.load(tmp_path / f"jne_hemi-{hemi}.func.gii")
        data = image.darrays[0].data
        selected = space.hemisphere == hemi
        assert data.shape == (32492,)
        assert data.dtype == np.float32
        np.testing.assert_allclose(
            data[space.vertex[selected]], values["jne"][selected], rtol=1e-6
        )
        assert np.isnan(data).sum() == 32492 - selected.sum()
        structure = image.meta["AnatomicalStructurePrimary"]
        assert structure == {"L": "CortexLeft", "R": "CortexRight"}[hemi]


def test_nifti_round_trip(tmp_path, volume):
    space, _, values = volume
    write_map(tmp_path, values["noise_ceiling"], space, "noise_ceiling",
              label())

    image = nib.load(tmp_path / "noise_ceiling.nii.gz")
    np.testing.assert_allclose(image.affine, space.affine)
    data = np.asarray(image.dataobj)
    assert data.shape == space.shape
    i, j, k = space.ijk.T
    np.testing.assert_allclose(
        data[i, j, k], values["noise_ceiling"], rtol=1e-6
    )
    assert np.isnan(data).sum() == data.size - space.n_voxels


def test_category_maps_stack(tmp_path, surface, volume):
    space, _, values = surface
    write_map(tmp_path / "s", values["jne_ss"], space, "jne_ss", label(),
              map_names=CATEGORIES)
    stacked = read_map(tmp_path / "s" / "jne_ss_hemi-R.func.gii")
    image = nib.load(tmp_path / "s" / "jne_ss_hemi-R.func.gii")
    assert stacked.shape == (len(CATEGORIES), 32492)
    assert [a.meta["Name"] for a in image.darrays] == CATEGORIES
    right = space.hemisphere == "R"
    np.testing.assert_allclose(
        stacked[2, space.vertex[right]], values["jne_ss"][2, right],
        rtol=1e-6,
    )

    vspace, _, vvalues = volume
    write_map(tmp_path / "v", vvalues["jne_ss"], vspace, "jne_ss", label(),
              map_names=CATEGORIES)
    grid = read_map(tmp_path / "v" / "jne_ss.nii.gz")
    assert grid.shape == vspace.shape + (len(CATEGORIES),)
    i, j, k = vspace.ijk.T
    np.testing.assert_allclose(grid[i, j, k, 1], vvalues["jne_ss"][1],
                               rtol=1e-6)


def test_sidecar_fields(tmp_path, surface):
    space, _, values = surface
    write_map(
        tmp_path, values["jne"], space, "jne", label(),
        significant=values["significant"], significance="q < 0.05",
    )
    sidecar = json.loads((tmp_path / "jne.json").read_text())

    assert sidecar["quantity"] == "jne"
    assert "a.u." in sidecar["units"]
    assert sidecar["data"]["subject"] == "01"
    assert sidecar["data"]["layer"] == "6"
    assert sidecar["data"]["model"] == "relu"
    assert sidecar["data"]["simulated"] is True
    assert sidecar["data"]["responses"] == "simulated"
    assert sidecar["space"]["mesh"] == "fsLR32k"
    assert sidecar["outside_value"] == "NaN"
    assert sidecar["thresholded"] is False
    assert sidecar["significance"] == "q < 0.05"
    assert sidecar["n_voxels_analysed"] == space.n_voxels
    assert sidecar["n_voxels_significant"] == int(values["significant"].sum())
    assert sidecar["value_max"] == pytest.approx(
        float(values["jne"].max()), rel=1e-6
    )
    assert sorted(sidecar["files"]) == [
        "jne_hemi-L.func.gii", "jne_hemi-R.func.gii"
    ]


def test_threshold_blanks_insignificant(tmp_path, volume):
    space, _, values = volume
    write_map(
        tmp_path, values["jne"], space, "jne", label(),
        significant=values["significant"], threshold=True,
    )
    data = read_map(tmp_path / "jne.nii.gz")
    i, j, k = space.ijk.T
    on_voxels = data[i, j, k]
    significant = values["significant"]
    assert np.isnan(on_voxels[~significant]).all()
    np.testing.assert_allclose(on_voxels[significant],
                               values["jne"][significant], rtol=1e-6)
    sidecar = json.loads((tmp_path / "jne.json").read_text())
    assert sidecar["thresholded"] is True


def test_threshold_needs_mask(tmp_path, volume):
    space, _, values = volume
    with pytest.raises(DataError, match="significant"):
        write_map(tmp_path, values["jne"], space, "jne", label(),
                  threshold=True)


def test_write_maps_writes_every_quantity(tmp_path, surface):
    space, _, values = surface
    written = write_maps(
        tmp_path, space, label(),
        r2_linear=values["r2_linear"], r2_nonlinear=values["r2_nonlinear"],
        noise_ceiling=values["noise_ceiling"], jne=values["jne"],
        jne_normalised=values["jne_normalised"], jne_ss=values["jne_ss"],
        categories=CATEGORIES, significant=values["significant"],
    )

    assert sorted(written) == sorted([
        "r2_linear", "r2_nonlinear", "r2_difference", "noise_ceiling",
        "jne", "jne_normalised", "jne_ss", "significant",
    ])
    difference = read_map(tmp_path / "r2_difference_hemi-L.func.gii")
    left = space.hemisphere == "L"
    expected = values["r2_nonlinear"][left] - values["r2_linear"][left]
    np.testing.assert_allclose(
        difference[space.vertex[left]], expected, rtol=1e-5, atol=1e-7
    )
    mask = read_map(tmp_path / "significant_hemi-L.func.gii")
    np.testing.assert_array_equal(
        mask[space.vertex[left]], values["significant"][left]
    )
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_write_maps_needs_categories(tmp_path, surface):
    space, _, values = surface
    with pytest.raises(DataError, match="categories"):
        write_maps(tmp_path, space, label(), jne_ss=values["jne_ss"])


def test_maps_load_in_nilearn(tmp_path, volume, surface):
    from nilearn.surface import load_surf_data

    space, _, values = volume
    write_map(tmp_path, values["jne"], space, "jne", label())
    from nilearn.image import load_img

    image = load_img(tmp_path / "jne.nii.gz")
    assert image.shape == space.shape

    sspace, _, svalues = surface
    write_map(tmp_path, svalues["jne"], sspace, "jne", label())
    data = load_surf_data(str(tmp_path / "jne_hemi-L.func.gii"))
    assert data.shape == (32492,)
