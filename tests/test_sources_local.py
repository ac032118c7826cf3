"""Tests of the local source on example datasets written by
``jne.sources.local_example``, in every supported file format."""

import logging

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from jne.dataset import Dataset
from jne.errors import ConfigError, DataError
from jne.sources import fetch_dataset
from jne.sources.local_example import write_example_dataset


def _fetch(options, subject="01"):
    return fetch_dataset(
        "local", subject, options, name="example", resources_dir=None
    )


@pytest.fixture
def volume(tmp_path):
    return write_example_dataset(tmp_path / "volume", kind="volume")


def test_volume_dataset_matches_files(volume):
    dataset = _fetch(volume)
    mask = nib.load(volume["mask"]).get_fdata() > 0
    image = nib.load(volume["responses"])
    atlas = np.asarray(nib.load(volume["atlas"]).dataobj)

    assert dataset.space.kind == "volume"
    assert dataset.space.shape == mask.shape
    np.testing.assert_allclose(dataset.space.affine, image.affine)
    assert dataset.n_voxels == mask.sum()
    np.testing.assert_array_equal(dataset.space.ijk, np.argwhere(mask))
    np.testing.assert_array_equal(
        dataset.betas, image.get_fdata(dtype=np.float32)[mask].T
    )
    np.testing.assert_array_equal(dataset.atlas.labels, atlas[mask])
    assert dataset.atlas.names == {1: "V1", 2: "V4", 3: "LO"}
    assert dataset.layers == ["0", "1"]
    assert dataset.embeddings["1"].shape == (60, 16)
    assert dataset.simulated
    assert dataset.description == "Example dataset with simulated responses."


def test_trial_and_stimulus_tables(volume):
    dataset = _fetch(volume)
    written = pd.read_csv(
        volume["trials"], sep="\t", dtype={"stimulus_id": str}
    )
    assert list(dataset.trials["stimulus_id"]) == list(written["stimulus_id"])
    assert dataset.trials["session"].dtype == np.int64
    assert dataset.stimuli["split"].isna().sum() == 48
    assert (dataset.stimuli["split"] == "test").sum() == 12
    assert set(dataset.stimuli["category"]) == {"faces", "places", "objects"}


def test_partial_split_round_trips(volume, tmp_path):
    dataset = _fetch(volume)
    dataset.save(tmp_path / "dataset.h5")
    loaded = Dataset.load(tmp_path / "dataset.h5")
    loaded.validate()
    assert loaded.stimuli["split"].isna().sum() == 48
    np.testing.assert_array_equal(loaded.betas, dataset.betas)


def test_ids_keep_leading_zeros(volume):
    for key in ("stimuli", "trials"):
        table = pd.read_csv(volume[key], sep="\t", dtype=str)
        table["stimulus_id"] = table["stimulus_id"].str.replace("stim", "00")
        table.to_csv(volume[key], sep="\t", index=False)
    dataset = _fetch(volume)
    assert dataset.stimuli["stimulus_id"].iloc[0] == "00000"
    assert dataset.trials["stimulus_id"].str.startswith("00").all()


def test_ids_that_pandas_reads_as_missing_kept(volume):
    names = ["NA", "null", "n/a"]
    for key in ("stimuli", "trials"):
        table = pd.read_csv(volume[key], sep="\t", dtype=str)
        first = sorted(table["stimulus_id"].unique())[:3]
        table["stimulus_id"] = table["stimulus_id"].replace(
            dict(zip(first, names))
        )
        table.to_csv(volume[key], sep="\t", index=False)
    dataset = _fetch(volume)
    assert set(names) <= set(dataset.stimuli["stimulus_id"])


def test_single_roi_name_not_split(volume):
    dataset = _fetch({**volume, "rois": "LO"})
    assert set(dataset.atlas.voxel_names()) == {"LO"}


def test_simulated_must_be_boolean(volume):
    with pytest.raises(ConfigError, match="simulated='no'"):
        _fetch({**volume, "simulated": "no"})


def test_rois_option_keeps_roi_voxels(volume):
    full = _fetch(volume)
    dataset = _fetch({**volume, "rois": ["V1", "LO"]})
    expected = np.isin(full.atlas.labels, [1, 3])
    assert dataset.n_voxels == expected.sum()
    np.testing.assert_array_equal(dataset.betas, full.betas[:, expected])
    assert set(dataset.atlas.voxel_names()) == {"V1", "LO"}


def test_subject_placeholder_and_root(tmp_path):
    write_example_dataset(tmp_path / "sub-07", kind="volume")
    options = {
        "root": str(tmp_path),
        "responses": "sub-{subject}/betas.nii.gz",
        "mask": "sub-{subject}/brainmask.nii.gz",
        "trials": "sub-{subject}/trials.tsv",
        "stimuli": "sub-{subject}/stimuli.tsv",
        "embeddings": "sub-{subject}/embeddings.npy",
        "atlas": "sub-{subject}/atlas.nii.gz",
        "atlas_labels": "sub-{subject}/labels.tsv",
    }
    dataset = _fetch(options, subject="07")
    assert dataset.subject == "07"
    assert dataset.n_trials == 12 * 3 + 48


def test_layer_names_option(volume):
    dataset = _fetch({**volume, "layers": ["early", "late"]})
    assert dataset.layers == ["early", "late"]


def test_hdf5_embeddings_reordered_by_id(volume, tmp_path):
    reference = _fetch(volume)
    ids = reference.stimuli["stimulus_id"].to_numpy()
    order = np.random.default_rng(0).permutation(len(ids))
    path = tmp_path / "features.h5"
    with h5py.File(path, "w") as f:
        # Stored out of natural order on purpose: "10" sorts after "2".
        for layer in ("10", "2"):
            source = reference.embeddings["0" if layer == "2" else "1"]
            f.create_dataset(layer, data=source[order])
        f.create_dataset(
            "stimulus_id",
            data=ids[order].astype(object),
            dtype=h5py.string_dtype(),
        )
    dataset = _fetch({**volume, "embeddings": str(path)})
    assert dataset.layers == ["2", "10"]
    np.testing.assert_array_equal(
        dataset.embeddings["2"], reference.embeddings["0"]
    )
    np.testing.assert_array_equal(
        dataset.embeddings["10"], reference.embeddings["1"]
    )


def test_hdf5_embeddings_layer_subset(volume, tmp_path):
    reference = _fetch(volume)
    path = tmp_path / "features.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=reference.embeddings["0"])
        f.create_dataset("b", data=reference.embeddings["1"])
    dataset = _fetch({**volume, "embeddings": str(path), "layers": ["b"]})
    assert dataset.layers == ["b"]


def test_surface_npy_with_vertex_table(tmp_path):
    options = write_example_dataset(tmp_path, kind="surface")
    dataset = _fetch(options)
    table = pd.read_csv(options["vertices"], sep="\t")
    assert dataset.space.kind == "surface"
    assert dataset.space.mesh == "fsaverage5"
    assert dataset.space.n_mesh_vertices == {"L": 10242, "R": 10242}
    np.testing.assert_array_equal(dataset.space.vertex, table["vertex"])
    np.testing.assert_array_equal(
        dataset.space.hemisphere, table["hemisphere"]
    )
    np.testing.assert_array_equal(dataset.betas, np.load(options["responses"]))
    np.testing.assert_array_equal(
        dataset.atlas.labels, np.load(options["atlas"])
    )


@pytest.mark.parametrize("surface_format", ["gifti", "mgh"])
def test_surface_hemisphere_files(tmp_path, surface_format):
    options = write_example_dataset(
        tmp_path, kind="surface", surface_format=surface_format
    )
    dataset = _fetch(options)
    assert dataset.n_voxels == 2 * 10242
    assert list(dataset.space.hemisphere[[0, -1]]) == ["L", "R"]
    np.testing.assert_array_equal(
        dataset.space.vertex, np.tile(np.arange(10242), 2)
    )
    left = np.load(options["atlas"]["L"])
    np.testing.assert_array_equal(dataset.atlas.labels[:10242], left)
    image = nib.load(options["responses"]["R"])
    if surface_format == "gifti":
        right = np.stack([d.data for d in image.darrays])
    else:
        right = np.asarray(image.dataobj)[:, 0, 0, :].T
    np.testing.assert_array_equal(dataset.betas[:, 10242:], right)


def test_surface_single_hemisphere_hdf5(tmp_path):
    options = write_example_dataset(
        tmp_path, kind="surface", surface_format="gifti"
    )
    image = nib.load(options["responses"]["L"])
    betas = np.stack([d.data for d in image.darrays])
    path = tmp_path / "left.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("trial_betas", data=betas)
    dataset = _fetch(
        {
            **options,
            "responses": str(path),
            "responses_dataset": "trial_betas",
            "hemisphere": "L",
            "atlas": options["atlas"]["L"],
        }
    )
    assert set(dataset.space.hemisphere) == {"L"}
    np.testing.assert_array_equal(dataset.betas, betas)


def test_missing_atlas_gives_empty_labels(volume, caplog):
    options = {
        k: v for k, v in volume.items() if k not in ("atlas", "atlas_labels")
    }
    with caplog.at_level(logging.WARNING, logger="jne.sources.local"):
        dataset = _fetch(options)
    assert (dataset.atlas.labels == 0).all()
    assert dataset.atlas.names == {}
    assert "No atlas given" in caplog.text


def test_int16_betas_become_float32(volume):
    image = nib.load(volume["responses"])
    scaled = np.round(image.get_fdata() * 100).astype(np.int16)
    nib.save(nib.Nifti1Image(scaled, image.affine), volume["responses"])
    dataset = _fetch(volume)
    assert dataset.betas.dtype == np.float32
    mask = nib.load(volume["mask"]).get_fdata() > 0
    np.testing.assert_array_equal(
        dataset.betas, scaled[mask].T.astype(np.float32)
    )


def test_check_options_names_missing_file(tmp_path):
    from jne.errors import DataError
    from jne.sources import check_options

    options = {
        "responses": str(tmp_path / "absent.nii.gz"),
        "trials": "t.tsv",
        "stimuli": "s.tsv",
        "embeddings": "e.npy",
    }
    with pytest.raises(DataError, match="absent.nii.gz"):
        check_options("local", "01", options)


def test_check_options_rejects_unknown_demo_option():
    from jne.errors import ConfigError
    from jne.sources import check_options

    with pytest.raises(ConfigError, match="siz"):
        check_options("demo", "01", {"siz": "small"})


@pytest.mark.parametrize("key", ["responses", "mask", "atlas"])
def test_truncated_nifti_names_file(volume, key):
    path = volume[key]
    data = open(path, "rb").read()
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])
    with pytest.raises(DataError, match="could not (be )?read") as error:
        _fetch(volume)
    assert str(path) in str(error.value)


def test_truncated_hdf5_embeddings_name_file(volume, tmp_path):
    path = tmp_path / "embeddings.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(DataError, match="could not be read") as error:
        _fetch({**volume, "embeddings": str(path)})
    assert str(path) in str(error.value)
