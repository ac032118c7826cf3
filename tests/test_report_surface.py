import nibabel as nib
import numpy as np
import pytest
from matplotlib.image import imread

from jne.dataset import Atlas, Space
from jne.errors import ConfigError, DataError
from jne.report import load_template, plot_surface_categories
from jne.report import plot_surface_map
from jne.report.surface_render import front_faces, label_boundaries
from tests.report_inputs import (
    CATEGORIES, image_variance, label, surface_space_and_atlas, voxel_values,
)

DPI = 50


@pytest.fixture(scope="module")
def surface():
    space, atlas = surface_space_and_atlas()
    return space, atlas, voxel_values(atlas)


def fsaverage5_inputs(seed=0):
    """Return a Space and Atlas on fsaverage5 over the occipital lobe."""
    template = load_template("fsaverage5")
    hemisphere, vertex, labels = [], [], []
    for hemi in ("L", "R"):
        y = template.hemispheres[hemi].pial[0][:, 1]
        selected = np.flatnonzero(y < -60)
        hemisphere.append(np.full(len(selected), hemi))
        vertex.append(selected)
        labels.append(np.digitize(y[selected], [-90, -75]) + 1)
    space = Space(
        kind="surface", mesh="fsaverage5",
        hemisphere=np.concatenate(hemisphere),
        vertex=np.concatenate(vertex),
        n_mesh_vertices={"L": 10242, "R": 10242},
    )
    atlas = Atlas(
        labels=np.concatenate(labels), names={1: "V1", 2: "V2", 3: "LO1"}
    )
    return space, atlas


def test_surface_map_png_and_svg(tmp_path, surface):
    space, atlas, values = surface
    paths = plot_surface_map(
        values["jne"], space, tmp_path / "jne.png", quantity="jne",
        label=label(), atlas=atlas, significant=values["significant"],
        dpi=DPI,
    )

    assert [p.name for p in paths] == ["jne.png", "jne.svg"]
    assert image_variance(paths[0]) > 1e-3
    svg = paths[1].read_text()
    assert "<svg" in svg
    assert "SIMULATED RESPONSES" in svg
    assert "JNE (a.u.)" in svg


def test_surface_maps_differ(tmp_path, surface):
    space, atlas, values = surface
    first = plot_surface_map(
        values["jne"], space, tmp_path / "a.png", quantity="jne",
        label=label(), atlas=atlas, views=("ventral",), dpi=DPI,
        vector_format=None,
    )[0]
    second = plot_surface_map(
        values["r2_nonlinear"] - values["r2_linear"], space,
        tmp_path / "b.png", quantity="r2_difference", label=label(),
        atlas=atlas, views=("ventral",), dpi=DPI, vector_format=None,
    )[0]

    a, b = imread(first), imread(second)
    assert a.shape == b.shape
    # The data cover the visual cortex only, a few percent of the pixels.
    changed = np.abs(a[..., :3] - b[..., :3]).max(axis=-1) > 0.1
    assert changed.mean() > 0.01


def test_surface_map_one_hemisphere(tmp_path, surface):
    space, atlas, values = surface
    left = np.flatnonzero(space.hemisphere == "L")
    paths = plot_surface_map(
        values["jne"][left], space.subset(left), tmp_path / "left.png",
        quantity="jne", label=label(), atlas=atlas.subset(left),
        views=("lateral",), dpi=DPI,
    )
    assert image_variance(paths[0]) > 1e-3
    assert "Right flat map" in paths[1].read_text()


def test_surface_map_no_significant_voxels(tmp_path, surface):
    space, atlas, values = surface
    paths = plot_surface_map(
        values["jne"], space, tmp_path / "none.png", quantity="jne",
        label=label(), atlas=atlas, significant=np.zeros(space.n_voxels, bool),
        views=("ventral",), dpi=DPI,
    )
    assert f"(0 of {space.n_voxels})" in paths[1].read_text()


def test_surface_map_rejects_wrong_mesh(tmp_path, surface):
    space, _, values = surface
    with pytest.raises(DataError, match="template 'fsaverage5'"):
        plot_surface_map(
            values["jne"], space, tmp_path / "x.png", quantity="jne",
            label=label(), template=load_template("fsaverage5"), dpi=DPI,
        )


def test_surface_categories(tmp_path, surface):
    space, atlas, values = surface
    paths = plot_surface_categories(
        values["jne_ss"], CATEGORIES, space, tmp_path / "jne_ss.png",
        label=label(simulated=False), atlas=atlas,
        significant=values["significant"], dpi=DPI,
    )

    assert image_variance(paths[0]) > 1e-3
    svg = paths[1].read_text()
    for category in CATEGORIES:
        assert f"{category} (L)" in svg
    assert "SIMULATED" not in svg


def test_surface_categories_rejects_shape(tmp_path, surface):
    space, _, values = surface
    with pytest.raises(DataError, match="one row per category"):
        plot_surface_categories(
            values["jne_ss"], CATEGORIES[:2], space, tmp_path / "x.png",
            label=label(),
        )


def test_fsaverage5_surface_offline(tmp_path):
    space, atlas = fsaverage5_inputs()
    values = np.linspace(0.0, 1.0, space.n_voxels)
    paths = plot_surface_map(
        values, space, tmp_path / "r2.png", quantity="r2_nonlinear",
        label=label(), atlas=atlas, dpi=DPI, vector_format="pdf",
    )

    assert paths[1].suffix == ".pdf"
    assert paths[1].read_bytes()[:4] == b"%PDF"
    assert image_variance(paths[0]) > 1e-3


def test_mesh_files_without_flat(tmp_path):
    template = load_template("fsaverage5")
    files = {}
    for hemi, surface in template.hemispheres.items():
        coordinates = nib.gifti.GiftiDataArray(
            surface.coordinates.astype(np.float32),
            intent="NIFTI_INTENT_POINTSET",
        )
        faces = nib.gifti.GiftiDataArray(
            surface.faces.astype(np.int32), intent="NIFTI_INTENT_TRIANGLE"
        )
        path = tmp_path / f"inflated_{hemi}.surf.gii"
        nib.save(nib.gifti.GiftiImage(darrays=[coordinates, faces]), path)
        files[f"surface_{hemi}"] = path
    custom = load_template("custom", mesh_files=files)

    assert custom.hemispheres["L"].n_vertices == 10242
    assert not custom.has_flat
    space, atlas = fsaverage5_inputs()
    space.mesh = "custom"
    paths = plot_surface_map(
        np.ones(space.n_voxels), space, tmp_path / "custom.png",
        quantity="jne", label=label(), atlas=atlas, template=custom,
        dpi=DPI, vector_format=None,
    )
    assert image_variance(paths[0]) > 1e-3


def test_mesh_files_rejects_unknown_key(tmp_path):
    with pytest.raises(ConfigError, match="Unknown mesh_files keys"):
        load_template("custom", mesh_files={"surface_X": tmp_path / "a"})


@pytest.mark.parametrize("name", ["fsaverage", "fsaverage6"])
def test_download_mesh_needs_permission(name):
    with pytest.raises(ConfigError, match="allow_download"):
        load_template(name)


def test_unknown_mesh_rejected():
    with pytest.raises(ConfigError, match="Offline templates"):
        load_template("MNI305")


def test_label_boundaries_square():
    # Two triangles forming a unit square, split by the diagonal labels.
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    labels = np.array([1, 1, 2, 2])

    segments = label_boundaries(xy, faces, labels)
    assert segments.shape == (2, 2, 2)
    # Every segment endpoint is the midpoint of an edge between labels.
    for point in segments.reshape(-1, 2):
        assert any(
            np.allclose(point, (xy[a] + xy[b]) / 2)
            for a, b in ((1, 2), (0, 3), (0, 2))
        )


def test_label_boundaries_uniform_labels():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    faces = np.array([[0, 1, 2]])
    assert label_boundaries(xy, faces, np.array([3, 3, 3])).shape == (0, 2, 2)


def test_front_faces_keeps_half_of_sphere():
    from scipy.spatial import ConvexHull

    rng = np.random.default_rng(0)
    points = rng.standard_normal((500, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    faces = ConvexHull(points).simplices
    # Orient every hull face outwards, as mesh files store them.
    normals = np.cross(
        points[faces[:, 1]] - points[faces[:, 0]],
        points[faces[:, 2]] - points[faces[:, 0]],
    )
    inward = np.sum(normals * points[faces].mean(axis=1), axis=1) < 0
    faces[inward] = faces[inward][:, ::-1]
    front = front_faces(points, faces, elevation=0, azimuth=0, tolerance=0)

    assert 0.35 < len(front) / len(faces) < 0.65
    # Kept faces lie on the side of the camera (+x for azimuth 0).
    assert (points[front].mean(axis=1)[:, 0] > -0.1).all()
