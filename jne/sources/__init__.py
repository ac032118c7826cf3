"""Input sources: where a subject's responses, stimuli and features come
from.

:func:`fetch_dataset` is the entry point of the fetch stage. It builds a
:class:`jne.dataset.Dataset` from one of three sources:

``"demo"``
    Built in and offline: a real cortical surface, real sentences and
    real MiniLM features with simulated responses
    (:mod:`jne.sources.demo`).
``"local"``
    The user's own files (:mod:`jne.sources.local`).
``"nsd"``
    The Natural Scenes Dataset, downloaded into ``resources_dir``
    (:mod:`jne.sources.nsd`, loaded only when requested).

The options of each source, and the file contract of ``local``, are
documented in ``docs/inputs.md``.
"""

import functools
import logging
import time

from jne.errors import ConfigError
from jne.sources.checks import MIN_TEST_STIMULI, check_dataset

logger = logging.getLogger(__name__)

SOURCES = ("demo", "local", "nsd")

# Options that every source accepts; fetch_dataset removes them before it
# passes the rest to the source.
COMMON_DEFAULTS = {"min_test_stimuli": MIN_TEST_STIMULI}


def _source_function(source):
    if source == "demo":
        from jne.sources.demo import fetch_demo

        return fetch_demo
    if source == "local":
        from jne.sources.local import fetch_local

        return fetch_local
    if source == "nsd":
        try:
            from jne.sources.nsd import fetch_nsd
        except ModuleNotFoundError as error:
            if error.name != "jne.sources.nsd":
                raise
            raise ConfigError(
                "The 'nsd' source is not available in this version of jne "
                "(the module jne.sources.nsd is missing). Use the 'demo' "
                "or 'local' source."
            ) from error
        return fetch_nsd
    raise ConfigError(
        f"Invalid source {source!r}: use one of {', '.join(SOURCES)}."
    )


def input_files(source, subject, options=None):
    """Return the user's files that a source reads for one subject.

    The workflow declares them as inputs of the fetch rule, so that
    Snakemake reruns fetch, and everything after it, when one of them is
    replaced. Files that a source downloads itself are not listed.

    Returns
    -------
    list of str
        For ``local``, every path option; for ``nsd``, the precomputed
        embeddings file when one is given; nothing for ``demo``.
    """
    options = dict(options or {})
    for key in COMMON_DEFAULTS:
        options.pop(key, None)
    files = []
    if source == "local":
        from jne.sources.local import PATH_OPTIONS, resolve_options

        resolved = resolve_options(options, str(subject))
        for key in PATH_OPTIONS:
            value = resolved[key]
            if isinstance(value, dict):
                files.extend(value.values())
            elif value is not None:
                files.append(value)
    elif source == "nsd":
        embeddings = options.get("embeddings") or {}
        if isinstance(embeddings, dict) and embeddings.get("file"):
            files.append(str(embeddings["file"]).format(subject=subject))
    return [str(path) for path in files]


def check_options(source, subject, options=None):
    """Check a source's options without fetching anything.

    The workflow calls this for every dataset and subject before any rule
    runs, so that a misspelt option or a missing local file stops the run
    at once. The local source also checks that its files exist.

    Raises
    ------
    ConfigError
        Naming the source, the option and the valid choices.
    """
    options = dict(options or {})
    for key in COMMON_DEFAULTS:
        options.pop(key, None)
    if source == "demo":
        from jne.sources.demo_options import resolve_options

        resolve_options(options)
    elif source == "local":
        from jne.sources.local import resolve_options

        resolve_options(options, str(subject))
    elif source == "nsd":
        from jne.sources.nsd_options import resolve_options

        resolve_options(options)
    else:
        raise ConfigError(
            f"Invalid source {source!r}: use one of {', '.join(SOURCES)}."
        )


def fetch_dataset(source, subject, options=None, *, name, resources_dir):
    """Build and validate one subject's dataset from a source.

    Parameters
    ----------
    source : {"demo", "local", "nsd"}
    subject : str
        Subject label, e.g. ``"01"``.
    options : dict, optional
        The source's options (see ``docs/inputs.md``), plus
        ``min_test_stimuli`` (default 10), the minimum number of test
        stimuli that the ``split`` column of the stimulus table must mark.
    name : str
        Dataset name, stored in the result and used in output paths.
    resources_dir : str or Path
        Folder for downloads and caches (NSD files, demo features).

    Returns
    -------
    Dataset
        Checked by :func:`jne.sources.checks.check_dataset`.

    Raises
    ------
    ConfigError
        For an unknown source or invalid options.
    DataError
        For inconsistent input data.
    """
    options = dict(options or {})
    common = {
        key: options.pop(key, default)
        for key, default in COMMON_DEFAULTS.items()
    }
    fetch = _source_function(source)
    subject = str(subject)
    start = time.perf_counter()
    logger.info(
        "Fetching dataset %r subject %s from the %s source",
        name,
        subject,
        source,
    )
    if source == "local":
        # The local source checks the test count itself, so that the error
        # names stimuli.tsv.
        fetch = functools.partial(
            fetch, min_test_stimuli=int(common["min_test_stimuli"])
        )
    dataset = fetch(subject, options, name=name, resources_dir=resources_dir)
    check_dataset(dataset, min_test_stimuli=int(common["min_test_stimuli"]))
    logger.info(
        "Fetched dataset %r subject %s: %d trials x %d voxels, %d stimuli, "
        "layers %s%s in %.1f s",
        name,
        subject,
        dataset.n_trials,
        dataset.n_voxels,
        dataset.n_stimuli,
        ", ".join(dataset.layers),
        " (simulated responses)" if dataset.simulated else "",
        time.perf_counter() - start,
    )
    return dataset


__all__ = ["SOURCES", "check_options", "fetch_dataset"]
