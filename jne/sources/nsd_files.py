"""NSD file lookup in ``nsd_dir`` or the download cache, and repair advice.

:class:`NSDFiles` returns the path of an NSD file: the copy in the user's
``nsd_dir`` when there is one, else a download into the cache folder
``<resources_dir>/nsd``. It records which files it downloaded itself, so
that ``keep_betas: false`` deletes only those, and so that the message
about a damaged file gives advice that fits where the file lives.
"""

import contextlib
import logging
from pathlib import Path

from jne.errors import DataError
from jne.sources.download import download_file

logger = logging.getLogger(__name__)


class DamagedFileError(DataError):
    """An NSD file that cannot be read, or files that do not fit together.

    Parameters
    ----------
    problem : str
        What is wrong, naming the files.
    paths : list of Path
        The files involved. :meth:`NSDFiles.explain_damage` adds advice
        for each, depending on whether it is in ``nsd_dir`` or the cache.
    """

    def __init__(self, problem, paths):
        self.problem = problem
        self.paths = [Path(p) for p in paths]
        super().__init__(
            f"{problem} The file is damaged or is not the NSD file "
            "expected here."
        )


class NSDFiles:
    """Find NSD files in ``nsd_dir`` or download them into a cache.

    Parameters
    ----------
    options : dict
        Resolved NSD options (``base_url``, ``nsd_dir``, ``download``).
    cache_root : Path
        Download folder, ``<resources_dir>/nsd``. Files keep the bucket's
        relative paths below it.
    """

    def __init__(self, options, cache_root):
        self.base_url = options["base_url"].rstrip("/")
        self.cache_root = Path(cache_root)
        self.nsd_dir = Path(options["nsd_dir"]) if options["nsd_dir"] else None
        self.download_options = dict(options["download"])
        self._local = set()
        self._downloaded = set()

    def get(self, relative):
        """Return the path of NSD file ``relative``, downloading it if needed.

        ``relative`` is the file's path in the bucket, e.g.
        ``nsddata/experiments/nsd/nsd_expdesign.mat``.
        """
        if self.nsd_dir is not None:
            local = self.nsd_dir / relative
            if local.is_file():
                self._local.add(local)
                return local
        settings = dict(self.download_options)
        verify = settings.pop("verify_cache")
        result = download_file(
            f"{self.base_url}/{relative}",
            self.cache_root / relative,
            check_remote=verify,
            **settings,
        )
        if result.transferred:
            self._downloaded.add(result.path)
        return result.path

    def release(self, path):
        """Delete ``path`` if this object downloaded it, else keep it.

        Files found in ``nsd_dir`` and cached files from earlier runs are
        never deleted, even when ``nsd_dir`` lies inside the cache folder.
        """
        path = Path(path)
        if path in self._downloaded and path not in self._local:
            path.unlink(missing_ok=True)
            self._downloaded.discard(path)
            logger.info("Deleted %s after reading it (keep_betas=False)", path)
            return
        origin = "in nsd_dir" if path in self._local else "cached earlier"
        logger.info(
            "Keeping %s after reading it: keep_betas=False deletes only "
            "files downloaded in this run, and this file was %s",
            path,
            origin,
        )

    @contextlib.contextmanager
    def explain_damage(self):
        """Turn a DamagedFileError into a DataError with repair advice.

        Cached files get the advice to delete them and fetch again. Files
        in ``nsd_dir`` are the user's own copy, so the message states that
        the copy is damaged instead of advising to delete it.
        """
        try:
            yield
        except DamagedFileError as error:
            raise DataError(
                f"{error.problem} {self._advice(error.paths)}"
            ) from error

    def _advice(self, paths):
        local = [str(p) for p in paths if p in self._local]
        cached = [
            str(p)
            for p in paths
            if p not in self._local and self.cache_root in p.parents
        ]
        # Files that the options name directly, e.g. embeddings.stimuli_file.
        option_files = [
            str(p)
            for p in paths
            if p not in self._local and self.cache_root not in p.parents
        ]
        sentences = []
        if cached:
            copies = "a new copy" if len(cached) == 1 else "new copies"
            sentences.append(
                f"Delete {' and '.join(cached)} from the download cache, "
                f"then run the fetch step again to download {copies}."
            )
        if len(local) == 1:
            sentences.append(
                f"The copy of {local[0]} in nsd_dir ({self.nsd_dir}) is "
                "damaged or is not the NSD file expected there: replace it "
                "with an intact copy from the NSD bucket."
            )
        elif local:
            sentences.append(
                f"The copies of {' and '.join(local)} in nsd_dir "
                f"({self.nsd_dir}) are damaged or are not the NSD files "
                "expected there: replace them with intact copies from the "
                "NSD bucket."
            )
        if option_files:
            sentences.append(
                f"Replace {' and '.join(option_files)} with an intact copy: "
                "jne does not download files that the options name."
            )
        return " ".join(sentences)
