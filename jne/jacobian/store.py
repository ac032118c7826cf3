"""Storage of the L1 deviations, and JNE and JNE-SS computed from them.

The engines produce the L1 deviations ``d[i, m] = ||J_i[m] - Jbar[m]||_1``
block by block. :class:`DeviationStore` keeps them in memory or in an
HDF5 file, together with per-voxel float64 running sums. Once all blocks
are in, :meth:`DeviationStore.finish` makes a second pass over the
deviations, column block by column block, to write
``JNESS[i, m] = (d[i, m] - mu[m])**2`` and ``JNE[m] = sqrt(mean_i
JNESS[i, m])``. Centring on the exact mean before squaring avoids the
cancellation of the one-pass ``E[d**2] - E[d]**2`` formula.

HDF5 layout (written by :meth:`DeviationStore.create`):

- ``deviation``: array of shape (n_stimuli, n_voxels), the L1 deviations,
  in the compute dtype.
- ``jne_ss``: array of shape (n_stimuli, n_voxels), JNE-SS, same dtype.

Both are chunked as (stimulus block, voxel block) of the engine, so every
block write fills whole HDF5 chunks.
"""

import logging

import h5py
import numpy as np

logger = logging.getLogger(__name__)

# Default bytes of float64 work arrays in the JNE-SS pass.
FINISH_BLOCK_BYTES = 64 * 2**20
# Maximum bytes of an HDF5 chunk, so that one chunk fits in h5py's default
# chunk cache of 1 MiB per dataset.
MAX_HDF5_CHUNK_BYTES = 2**20


def hdf5_chunk_shape(
    n_stimuli, n_voxels, stimulus_chunk, voxel_chunk, itemsize
):
    """Return an HDF5 chunk shape aligned with the engine's blocks."""
    rows = max(1, min(n_stimuli, stimulus_chunk))
    cols = max(1, min(n_voxels, voxel_chunk))
    while rows * cols * itemsize > MAX_HDF5_CHUNK_BYTES and cols > 1:
        cols = max(1, cols // 2)
    while rows * cols * itemsize > MAX_HDF5_CHUNK_BYTES and rows > 1:
        rows = max(1, rows // 2)
    return rows, cols


class DeviationStore:
    """L1 deviations of shape (n_stimuli, n_voxels) and per-voxel sums.

    Parameters
    ----------
    deviation, jne_ss : ndarray or h5py.Dataset of shape (n_stimuli, n_voxels)
        Destinations. ``jne_ss`` is filled by :meth:`finish`.
    block_bytes : int, optional
        Size of the work arrays of :meth:`finish`, in bytes.
    population_size : int, optional
        Number of stimuli the rows were sampled from, without replacement,
        when they are a random subset. :meth:`finish` then estimates the
        JNE of the whole population (see there).
    """

    def __init__(
        self, deviation, jne_ss, block_bytes=None, population_size=None
    ):
        self.deviation = deviation
        self.jne_ss = jne_ss
        self.n_stimuli, self.n_voxels = deviation.shape
        self.population_size = population_size
        self.block_bytes = block_bytes or FINISH_BLOCK_BYTES
        self.deviation_sum = np.zeros(self.n_voxels)
        self.jacobian_l1_sum = np.zeros(self.n_voxels)
        self.file = None

    @classmethod
    def in_memory(cls, n_stimuli, n_voxels, dtype, **kwargs):
        """Create a store backed by two numpy arrays."""
        deviation = np.zeros((n_stimuli, n_voxels), dtype=dtype)
        jne_ss = np.zeros((n_stimuli, n_voxels), dtype=dtype)
        return cls(deviation, jne_ss, **kwargs)

    @classmethod
    def create(cls, path, n_stimuli, n_voxels, dtype, chunks, **kwargs):
        """Create a store backed by a new HDF5 file at ``path``.

        The caller closes it with :meth:`close`. ``chunks`` is the HDF5
        chunk shape, see :func:`hdf5_chunk_shape`.
        """
        handle = h5py.File(path, "w")
        shape = (n_stimuli, n_voxels)
        deviation = handle.create_dataset(
            "deviation", shape=shape, dtype=dtype, chunks=chunks
        )
        jne_ss = handle.create_dataset(
            "jne_ss", shape=shape, dtype=dtype, chunks=chunks
        )
        store = cls(deviation, jne_ss, **kwargs)
        store.file = handle
        return store

    def write(self, rows, columns, block):
        """Store deviations of a (stimulus, voxel) block.

        Parameters
        ----------
        rows, columns : slice
            Stimulus and voxel positions of the block.
        block : ndarray of shape (n_rows, n_columns)
        """
        block = np.asarray(block, dtype=np.float64)
        # Sum the stored (rounded) values, so that the mean used by
        # finish() is the mean of exactly what the file contains.
        stored = block.astype(self.deviation.dtype, copy=False)
        self.deviation[rows, columns] = stored
        self.deviation_sum[columns] += stored.sum(axis=0, dtype=np.float64)

    def add_jacobian_l1(self, columns, sums):
        """Add sums over stimuli of ||J_i[m]||_1 for the voxels ``columns``."""
        self.jacobian_l1_sum[columns] += np.asarray(sums)

    def finish(self):
        """Write JNE-SS and return per-voxel statistics.

        With ``population_size`` N for n sampled rows, JNE**2 is the
        unbiased estimate of the population variance over all N stimuli
        from a sample without replacement: the sample variance with
        ddof = 1 times (N - 1) / N. JNE-SS stays centred on the sample
        mean.

        Returns
        -------
        jne : ndarray of shape (n_voxels,), float64
        mean_jacobian_l1 : ndarray of shape (n_voxels,), float64
            Mean over the rows' stimuli of ||J_i[m]||_1.
        """
        mean = self.deviation_sum / self.n_stimuli
        jne = np.empty(self.n_voxels)
        itemsize = np.dtype(self.deviation.dtype).itemsize
        # A float64 copy plus the read and written blocks in the stored
        # dtype.
        per_column = (8 + 2 * itemsize) * self.n_stimuli
        width = max(1, self.block_bytes // per_column)
        if not isinstance(self.deviation, np.ndarray):
            # Read whole HDF5 chunks only.
            chunk_width = self.deviation.chunks[1]
            width = max(chunk_width, width // chunk_width * chunk_width)
        for start in range(0, self.n_voxels, width):
            columns = slice(start, min(start + width, self.n_voxels))
            # A copy: the in-place steps below must not touch the stored
            # deviations, which a float64 numpy slice would share.
            block = np.array(self.deviation[:, columns], dtype=np.float64)
            block -= mean[columns]
            np.square(block, out=block)
            self.jne_ss[:, columns] = block.astype(
                self.jne_ss.dtype, copy=False
            )
            jne[columns] = np.sqrt(block.mean(axis=0))
        population = self.population_size
        if population is not None and population > self.n_stimuli > 1:
            n = self.n_stimuli
            jne *= np.sqrt(n / (n - 1) * (population - 1) / population)
        mean_l1 = self.jacobian_l1_sum / self.n_stimuli
        return jne, mean_l1

    def close(self):
        """Close the HDF5 file, if any."""
        if self.file is not None:
            self.file.close()
            self.file = None
