"""Tests of the NSD source on a tiny NSD tree served from 127.0.0.1."""

import numpy as np
import pytest

from jne.dataset import Dataset
from jne.errors import ConfigError, DataError, DownloadError
from jne.sources import nsd_layout as layout
from jne.sources.nsd import fetch_nsd
from jne.sources.nsd_options import DEFAULT_OPTIONS, resolve_sessions
from jne.sources.nsd_atlas import clean_roi_name
from jne.sources.nsd_readers import read_ctab
from tests.nsd_server import FileServer
from tests.nsd_tree import N_VERTICES, ROI_NAMES, build_tiny_nsd

ATLAS = DEFAULT_OPTIONS["atlas"]
MERGED = {"V1v": "V1", "V1d": "V1", "V2v": "V2", "V2d": "V2"}
MERGED.update({"V3v": "V3", "V3d": "V3"})
FAST_DOWNLOAD = {"retries": 3, "backoff": 0.01, "timeout": 10}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return build_tiny_nsd(tmp_path_factory.mktemp("nsd"), images=True)


@pytest.fixture(scope="module")
def embeddings_file(tree, tmp_path_factory):
    """Features of all images: 2 layers of 4 features, row = nsdId."""
    rng = np.random.default_rng(3)
    features = rng.standard_normal((layout.N_IMAGES, 2, 4)).astype("f4")
    path = tmp_path_factory.mktemp("features") / "features.npy"
    np.save(path, features)
    return path, features


@pytest.fixture
def server(tree):
    with FileServer(tree.root) as running:
        yield running


def _options(server, embeddings_file, **overrides):
    options = {
        "base_url": server.url,
        "sessions": 3,
        "embeddings": {"file": str(embeddings_file[0])},
        "download": dict(FAST_DOWNLOAD),
    }
    options.update(overrides)
    return options


def _expected_names(rois, n, atlas=ATLAS):
    """Name each grid voxel by the first atlas file that labels it."""
    names = np.full(n, "", dtype=object)
    owner = {}
    for roi in atlas:
        labels = np.asarray(rois[roi]).reshape(-1)
        for voxel in np.flatnonzero((names == "") & (labels > 0)):
            name = clean_roi_name(ROI_NAMES[roi][labels[voxel] - 1])
            name = MERGED.get(name, name)
            if owner.setdefault(name, roi) != roi:
                name = f"{roi}/{name}"
            names[voxel] = name
    return names


def test_fetch_volume_end_to_end(tree, server, embeddings_file, tmp_path):
    server.add_faults(layout.EXPDESIGN, 500)
    betas_path = layout.betas_paths(
        1, "func1pt8mm", "betas_fithrf_GLMdenoise_RR", 2
    )[0]
    server.add_faults(betas_path, "drop")

    dataset = fetch_nsd(
        "01",
        _options(server, embeddings_file),
        resources_dir=tmp_path,
        name="nsd",
    )

    mask = tree.volume_rois["nsdgeneral"] > 0
    n_voxels = int(mask.sum())
    assert dataset.betas.shape == (3 * 750, n_voxels)
    assert dataset.betas.dtype == np.float32
    expected = np.concatenate(
        [tree.volume_betas[s][mask].T / 300.0 for s in (1, 2, 3)]
    )
    np.testing.assert_allclose(dataset.betas, expected, rtol=1e-6)

    nsd_ids = tree.trial_nsd_ids([1, 2, 3])
    assert (
        dataset.trials["stimulus_id"].tolist() == nsd_ids.astype(str).tolist()
    )
    assert (
        dataset.trials["session"].tolist() == [1] * 750 + [2] * 750 + [3] * 750
    )
    assert dataset.trials["run"].iloc[:63].eq(1).all()
    assert dataset.trials["run"].iloc[63:125].eq(2).all()
    assert dataset.trials["run"].iloc[749] == 12
    assert dataset.trials["trial"].iloc[62] == 63
    assert dataset.trials["trial"].iloc[63] == 1

    assert (
        dataset.stimuli["stimulus_id"].tolist()
        == np.unique(nsd_ids).astype(str).tolist()
    )
    shared = np.isin(np.unique(nsd_ids), tree.sharedix - 1)
    is_test = (dataset.stimuli["split"] == "test").to_numpy()
    assert np.array_equal(is_test, shared)
    assert dataset.stimuli["split"][~is_test].isna().all()
    assert "category" not in dataset.stimuli

    assert dataset.space.kind == "volume"
    assert dataset.space.shape == (7, 6, 5)
    np.testing.assert_allclose(dataset.space.affine, tree.affine)
    assert np.array_equal(dataset.space.ijk, np.argwhere(mask))

    names = _expected_names(tree.volume_rois, mask.size)[mask.ravel()]
    assert dataset.atlas.voxel_names().tolist() == list(names)
    np.testing.assert_allclose(dataset.extra["ncsnr"], tree.volume_ncsnr[mask])

    features = embeddings_file[1]
    stimulus_ids = dataset.stimuli["nsd_id"].to_numpy()
    assert dataset.layers == ["0", "1"]
    np.testing.assert_array_equal(
        dataset.embeddings["1"], features[stimulus_ids, 1]
    )

    assert [r.status for r in server.get_requests(layout.EXPDESIGN)] == [
        500,
        200,
    ]
    assert [r.status for r in server.get_requests(betas_path)] == [200, 206]


def test_atlas_precedence_and_renaming(
    tree, server, embeddings_file, tmp_path
):
    dataset = fetch_nsd(
        1,
        _options(server, embeddings_file, mask=list(ROI_NAMES)[:6]),
        resources_dir=tmp_path,
        name="nsd",
    )

    names = set(dataset.atlas.names.values())
    assert {"V1", "V2", "V3", "hV4", "FFA-1", "EBA", "PPA"} <= names
    assert "V1v" not in names
    assert "HCP_MMP1/V1" in names
    assert "MST" in names
    prf = tree.volume_rois["prf-visualrois"].ravel()
    faces = tree.volume_rois["floc-faces"].ravel()
    flat_index = np.ravel_multi_index(dataset.space.ijk.T, (7, 6, 5))
    voxel_names = dataset.atlas.voxel_names()
    both = (prf[flat_index] == 1) & (faces[flat_index] > 0)
    assert both.any()
    assert (voxel_names[both] == "V1").all()


def test_mask_union_of_named_rois(tree, server, embeddings_file, tmp_path):
    dataset = fetch_nsd(
        "1",
        _options(server, embeddings_file, mask=["V1", "FFA-1"]),
        resources_dir=tmp_path,
        name="nsd",
    )

    names = _expected_names(tree.volume_rois, 7 * 6 * 5)
    expected = np.argwhere(np.isin(names, ["V1", "FFA-1"]).reshape((7, 6, 5)))
    assert np.array_equal(dataset.space.ijk, expected)
    assert set(dataset.atlas.names.values()) == {"V1", "FFA-1"}


def test_mask_of_roi_file(tree, server, embeddings_file, tmp_path):
    dataset = fetch_nsd(
        "01",
        _options(server, embeddings_file, mask="floc-places", atlas=[]),
        resources_dir=tmp_path,
        name="nsd",
    )

    expected = np.argwhere(tree.volume_rois["floc-places"] > 0)
    assert np.array_equal(dataset.space.ijk, expected)
    assert dataset.atlas.names == {}


def test_fetch_surface_end_to_end(tree, server, embeddings_file, tmp_path):
    dataset = fetch_nsd(
        "subj01",
        _options(server, embeddings_file, space="fsaverage", sessions=[1, 3]),
        resources_dir=tmp_path,
        name="nsd",
    )

    mask = tree.surface_rois["nsdgeneral"] > 0
    expected = np.concatenate([tree.surface_betas[s][mask].T for s in (1, 3)])
    np.testing.assert_allclose(dataset.betas, expected, rtol=1e-6)
    assert dataset.trials["session"].unique().tolist() == [1, 3]
    assert dataset.space.kind == "surface"
    assert dataset.space.mesh == "fsaverage"
    assert dataset.space.n_mesh_vertices == {"L": N_VERTICES, "R": N_VERTICES}
    index = np.flatnonzero(mask)
    hemisphere = np.where(index < N_VERTICES, "L", "R")
    assert dataset.space.hemisphere.tolist() == hemisphere.tolist()
    assert dataset.space.vertex.tolist() == (index % N_VERTICES).tolist()
    names = _expected_names(tree.surface_rois, 2 * N_VERTICES)[mask]
    assert dataset.atlas.voxel_names().tolist() == list(names)
    np.testing.assert_allclose(
        dataset.extra["ncsnr"], tree.surface_ncsnr[mask]
    )


def test_saved_dataset_keeps_missing_split(server, embeddings_file, tmp_path):
    dataset = fetch_nsd(
        "01",
        _options(server, embeddings_file, sessions=[1]),
        resources_dir=tmp_path,
        name="nsd",
    )
    dataset.save(tmp_path / "dataset.h5")

    loaded = Dataset.load(tmp_path / "dataset.h5")

    loaded.validate()
    assert (
        loaded.stimuli["split"].isna().sum()
        == dataset.stimuli["split"].isna().sum()
    )
    assert (loaded.stimuli["split"] == "test").sum() == (
        dataset.stimuli["split"] == "test"
    ).sum()
    np.testing.assert_array_equal(loaded.betas, dataset.betas)


def test_missing_session_file_fails(server, embeddings_file, tmp_path):
    with pytest.raises(DownloadError) as error:
        fetch_nsd(
            "01",
            _options(server, embeddings_file, sessions=[3, 4]),
            resources_dir=tmp_path,
            name="nsd",
        )

    assert "HTTP 404" in str(error.value)
    assert "betas_session04.nii.gz" in str(error.value)


def test_session_outside_design_fails(server, embeddings_file, tmp_path):
    with pytest.raises(DataError, match="session 5 is not in it"):
        fetch_nsd(
            "01",
            _options(server, embeddings_file, sessions=[5]),
            resources_dir=tmp_path,
            name="nsd",
        )


def test_cached_files_not_downloaded_again(server, embeddings_file, tmp_path):
    options = _options(server, embeddings_file, sessions=[1])
    fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")
    n_get = len([r for r in server.requests if r.method == "GET"])

    fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    gets = [r for r in server.requests if r.method == "GET"]
    heads = [r for r in server.requests if r.method == "HEAD"]
    assert len(gets) == n_get
    assert len(heads) == n_get


def test_corrupt_cached_betas_refetched(server, embeddings_file, tmp_path):
    options = _options(server, embeddings_file, sessions=[1])
    first = fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")
    (relative,) = layout.betas_paths(
        1, "func1pt8mm", "betas_fithrf_GLMdenoise_RR", 1
    )
    cached = tmp_path / "nsd" / relative
    cached.write_bytes(cached.read_bytes()[:-100] + b"\0" * 100)

    second = fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    np.testing.assert_array_equal(second.betas, first.betas)
    assert len(server.get_requests(relative)) == 2


def test_local_nsd_dir_used_in_place(tree, server, embeddings_file, tmp_path):
    options = _options(server, embeddings_file, nsd_dir=str(tree.root))

    dataset = fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    assert dataset.n_trials == 3 * 750
    assert server.requests == []
    assert not (tmp_path / "nsd").exists()


def test_keep_betas_false_deletes_downloads(server, embeddings_file, tmp_path):
    options = _options(server, embeddings_file, keep_betas=False)

    fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    folder = (
        tmp_path / "nsd/nsddata_betas/ppdata/subj01/func1pt8mm/"
        "betas_fithrf_GLMdenoise_RR"
    )
    assert sorted(p.name for p in folder.glob("*.nii.gz")) == ["ncsnr.nii.gz"]


def test_chunked_reading_matches_whole(server, embeddings_file, tmp_path):
    whole = fetch_nsd(
        "01",
        _options(server, embeddings_file, sessions=[2], chunk_trials=750),
        resources_dir=tmp_path,
        name="nsd",
    )
    chunked = fetch_nsd(
        "01",
        _options(server, embeddings_file, sessions=[2], chunk_trials=7),
        resources_dir=tmp_path,
        name="nsd",
    )

    np.testing.assert_array_equal(chunked.betas, whole.betas)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"spaces": "fsaverage"}, "Unknown NSD options"),
        ({"space": "MNI"}, "Invalid NSD space"),
        ({"betas": "betas_v9"}, "Invalid NSD betas version"),
        ({"mask": []}, "names no ROI"),
        ({"mask": ["no-such-roi"]}, "Invalid mask entry"),
        ({"chunk_trials": 0}, "chunk_trials"),
        ({"download": {"retry": 3}}, "Unknown keys"),
        ({"embeddings": None}, "needs the option 'embeddings'"),
        ({"embeddings": {"extractor": "transformers"}}, "no 'model'"),
        ({"embeddings": {"file": "a.npy", "model": "x"}}, "Unknown keys"),
    ],
)
def test_invalid_options_rejected(
    server, embeddings_file, tmp_path, overrides, message
):
    options = _options(server, embeddings_file)
    options.update(overrides)

    with pytest.raises(ConfigError, match=message):
        fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")


def test_resolve_sessions():
    assert resolve_sessions(None, 4) == list(range(1, 31))
    assert resolve_sessions(2, 1) == [1, 2]
    assert resolve_sessions([5, 2], 1) == [2, 5]
    with pytest.raises(ConfigError, match="completed sessions 1 to 30"):
        resolve_sessions([31], 4)
    with pytest.raises(ConfigError):
        resolve_sessions([1, 1], 1)
    with pytest.raises(ConfigError):
        resolve_sessions([True], 1)


@pytest.mark.parametrize(
    "subject, number", [("01", 1), ("subj08", 8), (3, 3), ("sub-02", 2)]
)
def test_parse_subject(subject, number):
    assert layout.parse_subject(subject) == number


@pytest.mark.parametrize("subject", ["0", "9", "subjX", ""])
def test_parse_subject_invalid(subject):
    with pytest.raises(ConfigError, match="Invalid NSD subject"):
        layout.parse_subject(subject)


def test_session_runs_follow_nsd_design():
    run, trial = layout.session_runs()

    assert len(run) == 750
    assert np.bincount(run)[1:].tolist() == [63, 62] * 6
    assert trial.max() == 63
    assert run[0] == 1
    assert run[-1] == 12


def test_read_ctab(tmp_path):
    path = tmp_path / "x.mgz.ctab"
    path.write_text("# comment\n0 Unknown\n1 V1v 1 2 3 0\n\n7 hV4\n")

    assert read_ctab(path) == {1: "V1v", 7: "hV4"}


def test_read_ctab_invalid_line(tmp_path):
    path = tmp_path / "x.mgz.ctab"
    path.write_text("1 V1v\nV2v 2\n")

    with pytest.raises(DataError, match="Invalid line 2"):
        read_ctab(path)


@pytest.mark.parametrize(
    "name, clean",
    [("L_V1_ROI", "V1"), ("R_MST_ROI", "MST"), ("FFA-1", "FFA-1")],
)
def test_clean_roi_name(name, clean):
    assert clean_roi_name(name) == clean


def test_embeddings_hdf5_with_id_dataset(server, tmp_path):
    import h5py

    rng = np.random.default_rng(4)
    ids = rng.permutation(7300)
    layers = {"block3": rng.standard_normal((7300, 5)).astype("f4")}
    layers["block10"] = rng.standard_normal((7300, 3)).astype("f4")
    path = tmp_path / "features.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("nsd_id", data=ids)
        for name, values in layers.items():
            f.create_dataset(name, data=values)
    options = {
        "base_url": server.url,
        "sessions": [1],
        "embeddings": {"file": str(path)},
        "download": dict(FAST_DOWNLOAD),
    }

    dataset = fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    assert dataset.layers == ["block3", "block10"]
    row_of = np.argsort(ids)
    rows = row_of[dataset.stimuli["nsd_id"].to_numpy()]
    np.testing.assert_array_equal(
        dataset.embeddings["block10"], layers["block10"][rows]
    )


def test_embeddings_npy_with_ids_file(server, tmp_path):
    rng = np.random.default_rng(5)
    ids = rng.permutation(7300)
    features = rng.standard_normal((7300, 6)).astype("f4")
    np.save(tmp_path / "features-01.npy", features)
    np.savetxt(tmp_path / "ids-01.txt", ids, fmt="%d")
    options = {
        "base_url": server.url,
        "sessions": [1],
        "embeddings": {
            "file": str(tmp_path / "features-{subject}.npy"),
            "ids": str(tmp_path / "ids-{subject}.txt"),
            "layer_names": ["clip"],
        },
        "download": dict(FAST_DOWNLOAD),
    }

    dataset = fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    rows = np.argsort(ids)[dataset.stimuli["nsd_id"].to_numpy()]
    np.testing.assert_array_equal(dataset.embeddings["clip"], features[rows])


def test_embeddings_missing_stimulus_fails(tree, server, tmp_path):
    import h5py

    shown = np.unique(tree.trial_nsd_ids([1]))
    path = tmp_path / "features.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("nsd_id", data=shown[1:])
        f.create_dataset("layer", data=np.zeros((len(shown) - 1, 2)))
    options = {
        "base_url": server.url,
        "sessions": [1],
        "embeddings": {"file": str(path)},
        "download": dict(FAST_DOWNLOAD),
    }

    with pytest.raises(DataError, match=f"e.g. nsdId {shown[0]}"):
        fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")


def test_embeddings_without_ids_need_all_rows(server, tmp_path):
    np.save(tmp_path / "features.npy", np.zeros((7300, 3), "f4"))
    options = {
        "base_url": server.url,
        "sessions": [1],
        "embeddings": {"file": str(tmp_path / "features.npy")},
        "download": dict(FAST_DOWNLOAD),
    }

    with pytest.raises(DataError, match="7300 rows but no image ids"):
        fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")


def test_embeddings_layer_selection(server, embeddings_file, tmp_path):
    options = _options(server, embeddings_file, sessions=[1])
    options["embeddings"]["layers"] = ["1"]

    dataset = fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    assert dataset.layers == ["1"]


def test_mapped_labels_reject_foreign_transform(tmp_path):
    import nibabel as nib

    from jne.sources.nsd_readers import read_mapped_surface_labels

    paths = []
    for name, values in (
        ("lh.labels.mgz", np.arange(5)),
        ("rh.labels.mgz", np.arange(5)),
        ("lh.map.mgz", np.array([1, 5, 2])),
        ("rh.map.mgz", np.array([1, 6, 2])),
    ):
        image = nib.MGHImage(values.reshape(-1, 1, 1).astype(np.int32), None)
        nib.save(image, tmp_path / name)
        paths.append(tmp_path / name)

    with pytest.raises(DataError, match="refers to vertices outside"):
        read_mapped_surface_labels(paths[:2], paths[2:])

    labels, grid = read_mapped_surface_labels(paths[:2], [paths[2]] * 2)
    assert labels.tolist() == [0, 4, 1, 0, 4, 1]
    assert grid.n_vertices == {"L": 3, "R": 3}


def test_missing_embeddings_file_fails_early(server, tmp_path):
    options = {
        "base_url": server.url,
        "sessions": [1],
        "embeddings": {"file": str(tmp_path / "absent-{subject}.npy")},
        "download": dict(FAST_DOWNLOAD),
    }

    with pytest.raises(ConfigError, match="absent-01.npy not found"):
        fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    assert not any("betas" in r.path for r in server.requests)
