"""Bad inputs stop the fetch step with an error that names the file, the
value and the fix. Each test breaks one file of an example dataset."""

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from jne.errors import ConfigError, DataError
from jne.sources import checks, fetch_dataset
from jne.sources.local_example import write_example_dataset

from tests.conftest import build_small_dataset


def _fetch(options):
    return fetch_dataset(
        "local", "01", options, name="bad", resources_dir=None
    )


def _edit_table(path, edit):
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    table = edit(table)
    table.to_csv(path, sep="\t", index=False)


@pytest.fixture
def volume(tmp_path):
    return write_example_dataset(tmp_path, kind="volume")


def test_trial_count_mismatch(volume):
    _edit_table(volume["trials"], lambda t: t.iloc[:-1])
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "betas.nii.gz" in message
    assert "84 trials" in message
    assert "trials.tsv has 83 rows" in message
    assert "one row per trial" in message


def test_trial_of_unknown_stimulus(volume):
    def rename(table):
        table.loc[5, "stimulus_id"] = "ghost"
        return table

    _edit_table(volume["trials"], rename)
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "'ghost'" in message
    assert "trials.tsv" in message
    assert "1 rows name a stimulus_id" in message
    assert "missing from" in message
    assert "stimuli.tsv" in message


def test_stimulus_missing_from_npy_embeddings(volume):
    features = np.load(volume["embeddings"])
    np.save(volume["embeddings"], features[:-2])
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "embeddings.npy" in message
    assert "58 rows" in message
    assert "60 stimuli" in message
    assert "'stim058'" in message
    assert "stimulus table order" in message


def test_stimulus_missing_from_hdf5_embeddings(volume, tmp_path):
    features = np.load(volume["embeddings"])
    ids = pd.read_csv(volume["stimuli"], sep="\t")["stimulus_id"].to_numpy()
    path = tmp_path / "features.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("0", data=features[1:, 0])
        f.create_dataset(
            "stimulus_id",
            data=ids[1:].astype(object),
            dtype=h5py.string_dtype(),
        )
    with pytest.raises(DataError) as error:
        _fetch({**volume, "embeddings": str(path)})
    message = str(error.value)
    assert "features.h5" in message
    assert "'stim000'" in message
    assert "no embedding" in message


def test_duplicated_stimulus_ids(volume):
    def duplicate(table):
        table.loc[3, "stimulus_id"] = table.loc[2, "stimulus_id"]
        return table

    _edit_table(volume["stimuli"], duplicate)
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "stimuli.tsv" in message
    assert "'stim002'" in message
    assert "more than once" in message


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_non_finite_embeddings(volume, bad_value):
    features = np.load(volume["embeddings"])
    features[7, 1, 3] = bad_value
    np.save(volume["embeddings"], features)
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "embeddings.npy" in message
    assert "layer '1'" in message
    assert "NaN or Inf for 1 of 60 stimuli" in message
    assert "'stim007'" in message


def test_atlas_on_other_grid(volume):
    atlas = nib.load(volume["atlas"])
    shifted = atlas.affine.copy()
    shifted[0, 3] += 3.0
    nib.save(
        nib.Nifti1Image(np.asarray(atlas.dataobj), shifted), volume["atlas"]
    )
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "atlas.nii.gz" in message
    assert "brainmask.nii.gz" in message
    assert "different grid" in message
    assert "resample_to_img" in message


def test_atlas_with_other_shape(volume):
    atlas = np.asarray(nib.load(volume["atlas"]).dataobj)
    affine = nib.load(volume["atlas"]).affine
    nib.save(nib.Nifti1Image(atlas[:-1], affine), volume["atlas"])
    with pytest.raises(
        DataError, match=r"shape \(11, 12, 10\) vs \(12, 12, 10\)"
    ):
        _fetch(volume)


def test_responses_on_other_grid(volume):
    image = nib.load(volume["responses"])
    nib.save(
        nib.Nifti1Image(image.get_fdata()[:, :, :-2], image.affine),
        volume["responses"],
    )
    with pytest.raises(DataError, match="betas.nii.gz is on a different grid"):
        _fetch(volume)


def test_absent_roi(volume):
    with pytest.raises(DataError) as error:
        _fetch({**volume, "rois": ["V1", "FFA"]})
    message = str(error.value)
    assert "'FFA'" in message
    assert "labels.tsv" in message
    assert "Known ROIs: LO, V1, V4" in message


def test_empty_roi(volume):
    _edit_table(
        volume["atlas_labels"],
        lambda t: pd.concat(
            [t, pd.DataFrame({"index": ["4"], "name": ["FFA"]})]
        ),
    )
    with pytest.raises(DataError) as error:
        _fetch({**volume, "rois": ["FFA"]})
    message = str(error.value)
    assert "'FFA'" in message
    assert "no voxels" in message


def test_too_few_test_stimuli(volume):
    def fewer(table):
        table.loc[5:, "split"] = ""
        return table

    _edit_table(volume["stimuli"], fewer)
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "stimuli.tsv" in message
    assert "5 test stimuli" in message
    assert "minimum of 10" in message
    assert "min_test_stimuli" in message
    dataset = _fetch({**volume, "min_test_stimuli": 5})
    assert (dataset.stimuli["split"] == "test").sum() == 5


def test_too_few_test_stimuli_in_any_dataset():
    dataset = build_small_dataset(n_test=4)
    with pytest.raises(DataError, match="4 test stimuli"):
        checks.check_dataset(dataset)


def test_invalid_split_value(volume):
    def misspell(table):
        table.loc[0, "split"] = "testing"
        return table

    _edit_table(volume["stimuli"], misspell)
    with pytest.raises(DataError, match=r"invalid split values \['testing'\]"):
        _fetch(volume)


def test_responses_not_4d(volume):
    image = nib.load(volume["responses"])
    nib.save(
        nib.Nifti1Image(image.get_fdata()[..., 0], image.affine),
        volume["responses"],
    )
    with pytest.raises(
        DataError, match=r"shape \(12, 12, 10\), expected a 4D"
    ):
        _fetch(volume)


def test_embeddings_wrong_ndim(volume):
    np.save(volume["embeddings"], np.zeros((60, 2, 4, 4), dtype=np.float32))
    with pytest.raises(DataError, match=r"shape \(60, 2, 4, 4\)"):
        _fetch(volume)


def test_layers_option_count_mismatch(volume):
    with pytest.raises(DataError, match="has 2 layers but the option"):
        _fetch({**volume, "layers": ["a", "b", "c"]})


@pytest.mark.parametrize("dtype", ["<U4", "complex64"])
def test_embeddings_wrong_dtype(volume, dtype):
    np.save(volume["embeddings"], np.zeros((60, 2, 16), dtype=dtype))
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "embeddings.npy" in message
    assert (
        np.dtype(dtype).str[1:] in message or str(np.dtype(dtype)) in message
    )
    assert "float32" in message


def test_surface_responses_wrong_shape(tmp_path):
    options = write_example_dataset(tmp_path, kind="surface")
    np.save(options["responses"], np.zeros(84, dtype=np.float32))
    with pytest.raises(DataError, match=r"shape \(84,\), expected"):
        _fetch(options)


def test_surface_responses_wrong_dtype(tmp_path):
    options = write_example_dataset(tmp_path, kind="surface")
    np.save(options["responses"], np.zeros((84, 300), dtype=bool))
    with pytest.raises(DataError, match="dtype bool"):
        _fetch(options)


def test_surface_vertex_count_mismatch(tmp_path):
    options = write_example_dataset(tmp_path, kind="surface")
    options.pop("vertices")
    with pytest.raises(DataError) as error:
        _fetch(options)
    message = str(error.value)
    assert "300 vertices" in message
    assert "fsaverage5 surface (L then R) has 20484" in message
    assert "'vertices' table" in message


def test_session_not_integer(volume):
    def misnumber(table):
        table.loc[4, "session"] = "first"
        return table

    _edit_table(volume["trials"], misnumber)
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "trials.tsv" in message
    assert "'first'" in message
    assert "row 5" in message


def test_probabilistic_atlas(volume):
    atlas = nib.load(volume["atlas"])
    nib.save(
        nib.Nifti1Image(np.asarray(atlas.dataobj) * 0.5, atlas.affine),
        volume["atlas"],
    )
    with pytest.raises(DataError, match="whole numbers"):
        _fetch(volume)


def test_atlas_value_without_label_row(volume):
    _edit_table(volume["atlas_labels"], lambda t: t.iloc[:2])
    with pytest.raises(DataError) as error:
        _fetch(volume)
    message = str(error.value)
    assert "label values [3]" in message
    assert "labels.tsv" in message


def test_missing_file(volume):
    with pytest.raises(DataError, match="nothere.tsv .*was not found"):
        _fetch(
            {**volume, "trials": volume["trials"].replace("trials", "nothere")}
        )


def test_unknown_option(volume):
    with pytest.raises(
        ConfigError, match=r"Unknown local options \['mask_file'\]"
    ):
        _fetch({**volume, "mask_file": "x"})


def test_missing_required_option(volume):
    options = dict(volume)
    options.pop("embeddings")
    with pytest.raises(ConfigError, match="embeddings"):
        _fetch(options)


def test_volume_without_mask(volume):
    options = dict(volume)
    options.pop("mask")
    with pytest.raises(ConfigError, match="brain mask"):
        _fetch(options)


def test_unknown_source():
    with pytest.raises(ConfigError, match="Invalid source 'openneuro'"):
        fetch_dataset("openneuro", "01", {}, name="x", resources_dir=None)


def test_nsd_source_without_module():
    import importlib.util

    if importlib.util.find_spec("jne.sources.nsd") is not None:
        pytest.skip("jne.sources.nsd exists in this checkout")
    with pytest.raises(ConfigError, match="'nsd' source is not available"):
        fetch_dataset("nsd", "01", {}, name="nsd", resources_dir="resources")


def test_nan_and_constant_voxels_are_kept(volume):
    """Dropping such voxels is the prepare step's job, with a logged
    count, so fetching must not fail on them."""
    image = nib.load(volume["responses"])
    data = image.get_fdata(dtype=np.float32)
    mask = nib.load(volume["mask"]).get_fdata() > 0
    first, second = np.argwhere(mask)[:2]
    data[tuple(first)] = np.nan
    data[tuple(second)] = 3.0
    nib.save(nib.Nifti1Image(data, image.affine), volume["responses"])
    dataset = _fetch(volume)
    assert np.isnan(dataset.betas[:, 0]).all()
    assert (dataset.betas[:, 1] == 3.0).all()
