"""Tests of where NSD files come from: nsd_dir, the cache and downloads.

They cover which files ``keep_betas: false`` may delete, the messages for
damaged files in the cache and in ``nsd_dir``, and the option checks that
run before anything is downloaded. The server is a real HTTP server on
127.0.0.1.
"""

import shutil

import numpy as np
import pytest

from jne.errors import ConfigError, DataError
from jne.sources import check_options, extractors
from jne.sources import nsd_layout as layout
from jne.sources.nsd import fetch_nsd
from tests.nsd_server import FileServer
from tests.nsd_tree import build_tiny_nsd

FAST_DOWNLOAD = {"retries": 2, "backoff": 0.01, "timeout": 10}
BETAS = "betas_fithrf_GLMdenoise_RR"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return build_tiny_nsd(tmp_path_factory.mktemp("nsd"))


@pytest.fixture(scope="module")
def embeddings_path(tmp_path_factory):
    rng = np.random.default_rng(4)
    features = rng.standard_normal((layout.N_IMAGES, 3)).astype("f4")
    path = tmp_path_factory.mktemp("features") / "features.npy"
    np.save(path, features)
    return path


@pytest.fixture
def server(tree):
    with FileServer(tree.root) as running:
        yield running


def _options(server, embeddings_path, **overrides):
    options = {
        "base_url": server.url,
        "sessions": 2,
        "atlas": ["prf-visualrois"],
        "embeddings": {"file": str(embeddings_path)},
        "download": dict(FAST_DOWNLOAD),
    }
    options.update(overrides)
    return options


def _betas(session):
    return layout.betas_paths(1, "func1pt8mm", BETAS, session)[0]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"base_url": "example.org/nsd"}, "NSD option base_url"),
        ({"base_url": "127.0.0.1:8765/ok"}, "http:// or https://"),
        ({"base_url": "file:///data/nsd"}, "http:// or https://"),
        ({"download": {"backoff": -1}}, "backoff=-1 in the NSD option"),
        ({"download": {"timeout": 0}}, "timeout=0 in the NSD option"),
        ({"download": {"retries": -1}}, "retries=-1 in the NSD option"),
        ({"download": {"verify_cache": "no"}}, "download.verify_cache"),
        ({"keep_betas": "false"}, "'keep_betas' must be true or false"),
        ({"sessions": -2}, "sessions=-2"),
        ({"sessions": 0}, "sessions=0"),
        ({"sessions": [2, -1]}, "sessions=[2, -1]"),
        ({"sessions": []}, "sessions=[]"),
        ({"sessions": "all"}, "sessions='all'"),
    ],
)
def test_invalid_option_rejected_at_check(tmp_path, overrides, message):
    options = {"embeddings": {"file": str(tmp_path / "f.npy")}}
    options.update(overrides)

    with pytest.raises(ConfigError) as error:
        check_options("nsd", "01", options)

    assert message in str(error.value)


def test_sessions_beyond_subject_keep_value(server, embeddings_path):
    options = _options(server, embeddings_path, sessions=41)

    with pytest.raises(ConfigError) as error:
        fetch_nsd("01", options, resources_dir="unused", name="nsd")

    assert "sessions=41 for subject 01" in str(error.value)
    assert "completed sessions 1 to 40" in str(error.value)
    assert server.requests == []


def test_url_without_scheme_fails_before_download(
    server, embeddings_path, tmp_path
):
    host_and_path = server.url.removeprefix("http://")
    options = _options(server, embeddings_path, base_url=host_and_path)

    with pytest.raises(ConfigError, match="http:// or https://"):
        fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    assert server.requests == []


@pytest.mark.parametrize("inside", [".", "copy"])
def test_keep_betas_false_keeps_nsd_dir(
    tree, server, embeddings_path, tmp_path, inside
):
    # The user's NSD copy lies in the cache folder <resources_dir>/nsd, or
    # is that folder. Session 3 is missing from it, so it is downloaded.
    nsd_dir = tmp_path / "nsd" / inside
    shutil.copytree(tree.root, nsd_dir)
    (nsd_dir / _betas(3)).unlink()
    originals = {s: (tree.root / _betas(s)).read_bytes() for s in (1, 2)}
    options = _options(
        server,
        embeddings_path,
        sessions=3,
        nsd_dir=str(nsd_dir),
        keep_betas=False,
    )

    dataset = fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    assert dataset.n_trials == 3 * 750
    for session, content in originals.items():
        assert (nsd_dir / _betas(session)).read_bytes() == content
    assert [r.path for r in server.requests] == ["/" + _betas(3)]
    assert not (tmp_path / "nsd" / _betas(3)).exists()


def test_keep_betas_false_keeps_earlier_downloads(
    server, embeddings_path, tmp_path
):
    keep_options = _options(server, embeddings_path, sessions=[1])
    fetch_nsd("01", keep_options, resources_dir=tmp_path, name="nsd")
    cached = tmp_path / "nsd" / _betas(1)
    content = cached.read_bytes()

    release_options = _options(server, embeddings_path, sessions=[1, 2])
    release_options["keep_betas"] = False
    fetch_nsd("01", release_options, resources_dir=tmp_path, name="nsd")

    # The first fetch cached the betas of scan session 1, and the second
    # fetch downloaded those of scan session 2.
    assert cached.read_bytes() == content
    assert not (tmp_path / "nsd" / _betas(2)).exists()
    assert len(server.get_requests(_betas(1))) == 1
    assert len(server.get_requests(_betas(2))) == 1


def _html_page(path):
    path.write_bytes(b"<html><body>Access denied</body></html>")


def _cut_in_half(path):
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def _latin1_table(path):
    text = path.read_text(encoding="utf-8")
    path.write_bytes(text.replace("train", "tr\u00e4in").encode("latin-1"))


def _invalid_ctab_line(path):
    path.write_text("0 Unknown\nV1v 1\n")


def _ctab_without_names(path):
    path.write_text("0 Unknown\n")


DAMAGES = [
    (layout.EXPDESIGN, _html_page, "scipy.io.loadmat"),
    (layout.EXPDESIGN, _cut_in_half, "scipy.io.loadmat"),
    (layout.STIM_INFO, _latin1_table, "UTF-8 CSV"),
    (
        layout.roi_paths(1, "func1pt8mm", "nsdgeneral")[0],
        _cut_in_half,
        "with nibabel",
    ),
    (_betas(1), _cut_in_half, "with nibabel"),
    (_betas(2), _html_page, "with nibabel"),
    (
        layout.ctab_path(1, "func1pt8mm", "prf-visualrois"),
        _invalid_ctab_line,
        "Invalid line 2",
    ),
    (
        layout.ctab_path(1, "func1pt8mm", "prf-visualrois"),
        _ctab_without_names,
        "does not name",
    ),
]
DAMAGE_IDS = [
    "design-html",
    "design-cut",
    "stim-info-latin1",
    "roi-cut",
    "betas-cut",
    "betas-html",
    "ctab-line",
    "ctab-names",
]


@pytest.mark.parametrize("relative, damage, problem", DAMAGES, ids=DAMAGE_IDS)
def test_damaged_cached_file_named(
    tree, server, embeddings_path, tmp_path, relative, damage, problem
):
    cache = tmp_path / "nsd"
    shutil.copytree(tree.root, cache)
    damage(cache / relative)
    options = _options(server, embeddings_path)
    options["download"]["verify_cache"] = False

    with pytest.raises(DataError) as error:
        fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    message = str(error.value)
    assert str(cache / relative) in message
    assert problem in message
    assert "from the download cache" in message
    assert "run the fetch step again" in message
    assert "nsd_dir" not in message


@pytest.mark.parametrize("relative, damage, problem", DAMAGES, ids=DAMAGE_IDS)
def test_damaged_nsd_dir_file_not_deleted(
    tree, server, embeddings_path, tmp_path, relative, damage, problem
):
    nsd_dir = tmp_path / "mirror"
    shutil.copytree(tree.root, nsd_dir)
    damage(nsd_dir / relative)
    options = _options(server, embeddings_path, nsd_dir=str(nsd_dir))

    with pytest.raises(DataError) as error:
        fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    message = str(error.value)
    assert str(nsd_dir / relative) in message
    assert problem in message
    assert "in nsd_dir" in message
    assert "damaged" in message
    assert "Delete" not in message
    assert "delete" not in message
    assert (nsd_dir / relative).exists()
    assert server.requests == []


class _NeverRunExtractor:
    """An extractor for tests that fail before any image is read."""

    def __init__(self, model):
        self.model = model


@pytest.mark.parametrize("where", ["stimuli_file", "cache", "nsd_dir"])
def test_damaged_image_file_named(tree, server, tmp_path, monkeypatch, where):
    monkeypatch.setitem(extractors._REGISTRY, "never-run", _NeverRunExtractor)
    embeddings = {"extractor": "never-run", "model": "unused"}
    options = {
        "base_url": server.url,
        "sessions": 1,
        "atlas": ["prf-visualrois"],
        "embeddings": embeddings,
        "download": dict(FAST_DOWNLOAD, verify_cache=False),
    }
    if where == "stimuli_file":
        damaged = tmp_path / "images.hdf5"
        embeddings["stimuli_file"] = str(damaged)
    elif where == "cache":
        damaged = tmp_path / "nsd" / layout.STIMULI_HDF5
    else:
        nsd_dir = tmp_path / "mirror"
        shutil.copytree(tree.root, nsd_dir)
        options["nsd_dir"] = str(nsd_dir)
        damaged = nsd_dir / layout.STIMULI_HDF5
    damaged.parent.mkdir(parents=True, exist_ok=True)
    _html_page(damaged)

    with pytest.raises(DataError) as error:
        fetch_nsd("01", options, resources_dir=tmp_path, name="nsd")

    message = str(error.value)
    assert f"Failed to open the NSD image file {damaged}" in message
    if where == "cache":
        assert "from the download cache" in message
    else:
        assert "delete" not in message.lower()
    if where == "stimuli_file":
        assert f"Replace {damaged} with an intact copy" in message
    if where == "nsd_dir":
        assert "in nsd_dir" in message
    assert damaged.exists()
