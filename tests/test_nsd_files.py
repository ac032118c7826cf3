"""Tests of where NSD files come from: nsd_dir, the cache and downloads.

They cover which files ``keep_betas: false`` may delete, the messages for
damaged files in the cache and in ``nsd_dir``, and the option checks that
run before anything is downloaded. The server is a real HTTP server on
127.0.0.1.
"""

import numpy as np
import pytest

from jne.errors import ConfigError
from jne.sources import check_options
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
