"""Scratch file for hidden-space products between the two passes.

The closed-form path needs every stimulus's products twice: in the mean
pass and in the deviation pass. Those that do not fit in the memory
budget are either built again (``n_blocks * 2 H**2 D`` flops per
stimulus) or written to a scratch file and read back. At N = 1000,
H = 1024, D = 768 and two blocks, all products take 3.1 GB in float32.
Reading 3.1 GB back takes about 2 s at 1.5 GB/s, where building them
again takes about 21 s at 150 GFLOP/s (both rates measured on the 2-core
benchmark VM). On a slow or network file system the rebuild can win, so
the directory is a setting.

The file is created with ``tempfile.TemporaryFile``, which has no name on
POSIX systems, so the operating system removes it even if the process
is killed.
"""

import logging
import shutil
import tempfile

import numpy as np
import torch

from jne.errors import ConfigError

logger = logging.getLogger(__name__)

# Free space kept on the scratch file system beyond the spilled bytes.
FREE_SPACE_MARGIN = 2**30


def resolve_scratch_dir(scratch_dir):
    """Return the directory for spilled products, or None for none.

    ``"auto"`` means the system's temporary directory
    (``tempfile.gettempdir()``, which follows ``TMPDIR``).
    """
    if scratch_dir is None:
        return None
    if scratch_dir == "auto":
        return tempfile.gettempdir()
    return str(scratch_dir)


class ProductSpill:
    """Hidden-space products of stimulus chunks in a scratch file.

    Parameters
    ----------
    directory : str
        Where the unnamed temporary file is created.
    """

    def __init__(self, directory):
        try:
            self.file = tempfile.TemporaryFile(
                dir=directory, prefix="jne-products-"
            )
        except OSError as error:
            raise ConfigError(
                f"Cannot create a scratch file in jacobian.scratch_dir "
                f"{directory!r}: {error}. Set it to a writable directory, "
                "or to null to build the products again instead."
            ) from error
        self.entries = {}

    @classmethod
    def open_if_space(cls, directory, n_bytes):
        """Return a spill in ``directory``, or None without enough space."""
        if directory is None or n_bytes <= 0:
            return None
        try:
            free = shutil.disk_usage(directory).free
        except OSError as error:
            raise ConfigError(
                f"Invalid jacobian.scratch_dir {directory!r}: {error}."
            ) from error
        if free < n_bytes + FREE_SPACE_MARGIN:
            logger.warning(
                "scratch directory %s has %.1f GB free, too little for "
                "%.1f GB of products: they are built again instead",
                directory,
                free / 1e9,
                n_bytes / 1e9,
            )
            return None
        logger.info(
            "spilling up to %.2f GB of products to a scratch file in %s",
            n_bytes / 1e9,
            directory,
        )
        return cls(directory)

    def write(self, index, products):
        """Append the products of chunk ``index`` (a contiguous tensor)."""
        array = products.detach().cpu().numpy()
        self.entries[index] = (self.file.tell(), array.shape, array.dtype)
        self.file.write(memoryview(np.ascontiguousarray(array)).cast("B"))

    def __contains__(self, index):
        return index in self.entries

    def read(self, index, out):
        """Read chunk ``index`` into the buffer ``out`` and return the view.

        The entry is dropped, since each chunk is read once.
        """
        offset, shape, dtype = self.entries.pop(index)
        size = int(np.prod(shape))
        target = out.view(-1)[:size].view(shape)
        if target.device.type == "cpu":
            host = target.numpy()
        else:
            host = np.empty(shape, dtype=dtype)
        self.file.seek(offset)
        n_read = self.file.readinto(memoryview(host).cast("B"))
        if n_read != host.nbytes:
            raise OSError(
                f"Short read from the product scratch file: {n_read} of "
                f"{host.nbytes} bytes for chunk {index}."
            )
        if target.device.type != "cpu":
            target.copy_(torch.from_numpy(host))
        return target

    def close(self):
        """Close and so delete the scratch file."""
        self.file.close()
