"""JNE-SS in HDF5: round trip, layout and atomic writes."""

import json

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from jne.jacobian import compute_jne
from jne.jacobian.store import DeviationStore, hdf5_chunk_shape
from jne.models import ResidualMLP


@pytest.fixture
def model_and_inputs():
    torch.manual_seed(0)
    model = ResidualMLP(10, 37, 32, 2, "gelu", bias=True)
    inputs = torch.randn(29, 10)
    return model, inputs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hdf5_output_round_trips(tmp_path, model_and_inputs, dtype):
    model, inputs = model_and_inputs
    path = tmp_path / "out" / "jne_ss.h5"
    in_memory = compute_jne(model, inputs, dtype=dtype, voxel_chunk=8)

    with compute_jne(
        model, inputs, dtype=dtype, voxel_chunk=8, jne_ss_path=path
    ) as on_disk:
        assert isinstance(on_disk.jne_ss, h5py.Dataset)
        assert on_disk.path == path
        np.testing.assert_array_equal(on_disk.jne, in_memory.jne)
        np.testing.assert_array_equal(on_disk.jne_ss[:], in_memory.jne_ss)
        np.testing.assert_array_equal(
            on_disk.deviation[:], in_memory.deviation
        )
    assert on_disk.file is None

    with h5py.File(path, "r") as handle:
        assert handle["jne_ss"].shape == (29, 37)
        assert handle["jne_ss"].dtype == np.dtype(dtype)
        assert handle["deviation"].chunks[1] == 8
        assert handle.attrs["mode"] == "fast"
        assert handle.attrs["dtype"] == dtype
        assert json.loads(handle.attrs["plan"])["voxel_chunk"] == 8
        np.testing.assert_array_equal(handle["jne"][:], in_memory.jne)
        np.testing.assert_array_equal(handle["voxel"][:], np.arange(37))
        np.testing.assert_array_equal(
            handle["mean_jacobian_l1"][:], in_memory.mean_jacobian_l1
        )
    # Only the final file remains: the temporary one was renamed.
    assert sorted(p.name for p in path.parent.iterdir()) == ["jne_ss.h5"]


class FailsOnBatches(nn.Module):
    """Runs for one stimulus (the shape probe) but fails on a batch."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(10, 4)

    def forward(self, x):
        if x.shape[0] > 1:
            raise RuntimeError("simulated failure inside the engine")
        return self.layer(x)


def test_failed_run_leaves_no_file(tmp_path, model_and_inputs):
    _, inputs = model_and_inputs
    path = tmp_path / "jne_ss.h5"

    with pytest.raises(RuntimeError, match="simulated failure"):
        compute_jne(FailsOnBatches(), inputs, jne_ss_path=path)

    assert list(tmp_path.iterdir()) == []


def test_existing_file_replaced(tmp_path, model_and_inputs):
    model, inputs = model_and_inputs
    path = tmp_path / "jne_ss.h5"
    path.write_bytes(b"not an HDF5 file")

    result = compute_jne(model, inputs, jne_ss_path=path)
    result.close()

    with h5py.File(path, "r") as handle:
        assert handle["jne_ss"].shape == (29, 37)


def test_store_finish_in_column_blocks(tmp_path):
    rng = np.random.default_rng(0)
    deviation = rng.random((23, 50))
    expected_ss = (deviation - deviation.mean(0)) ** 2
    chunks = hdf5_chunk_shape(23, 50, 5, 7, 8)
    store = DeviationStore.create(
        tmp_path / "d.h5", 23, 50, np.float64, chunks, block_bytes=2000
    )

    for start in range(0, 23, 5):
        rows = slice(start, min(start + 5, 23))
        for column in range(0, 50, 7):
            columns = slice(column, min(column + 7, 50))
            store.write(rows, columns, deviation[rows, columns])
    jne, _ = store.finish()
    written = store.jne_ss[:]
    store.close()

    np.testing.assert_allclose(written, expected_ss, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(jne, deviation.std(axis=0), rtol=1e-12)


def test_hdf5_chunk_shape_limits_bytes():
    rows, columns = hdf5_chunk_shape(1000, 200_000, 500, 4096, 4)

    assert rows * columns * 4 <= 2**20
    assert rows == 500
    assert hdf5_chunk_shape(3, 2, 22, 1024, 4) == (3, 2)
