"""Tests of jne.sources.download against a real HTTP server on 127.0.0.1."""

import hashlib
import logging
import multiprocessing
import threading
import time

import numpy as np
import pytest

from jne.errors import DownloadError
from jne.sources.download import download
from jne.sources.download_checks import (
    md5_from_etag,
    parse_content_range,
    parse_unsatisfied_range,
    verify_file,
)
from tests.nsd_server import FileServer

FAST = {"backoff": 0.01, "timeout": 5, "chunk_size": 4096}


@pytest.fixture
def served(tmp_path):
    """A server on a folder with one 100 kB file of random bytes."""
    root = tmp_path / "remote"
    root.mkdir()
    data = np.random.default_rng(0).bytes(100_000)
    (root / "data.bin").write_bytes(data)
    with FileServer(root) as server:
        yield server, data


def _get_statuses(server, path="data.bin"):
    return [r.status for r in server.get_requests(path)]


def test_download_plain_file(served, tmp_path):
    server, data = served
    dest = tmp_path / "local" / "data.bin"

    result = download(server.url_for("data.bin"), dest, **FAST)

    assert result == dest
    assert dest.read_bytes() == data
    assert not dest.with_name("data.bin.part").exists()
    assert _get_statuses(server) == [200]


def test_download_retries_server_error(served, tmp_path, caplog):
    server, data = served
    server.add_faults("data.bin", 500, 503)
    dest = tmp_path / "data.bin"

    with caplog.at_level(logging.INFO, logger="jne.sources.download"):
        download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [500, 503, 200]
    assert "retry 1 of 5" in caplog.text
    assert "retry 2 of 5" in caplog.text
    assert "with 2 retries" in caplog.text


def test_download_resumes_dropped_connection(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "drop")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    requests = server.get_requests("data.bin")
    assert [r.status for r in requests] == [200, 206]
    assert requests[0].range is None
    assert requests[1].range == f"bytes={len(data) // 2}-"


def test_download_resumes_twice(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "drop", "drop")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    ranges = [r.range for r in server.get_requests("data.bin")]
    second_start = len(data) // 2
    third_start = second_start + (len(data) - second_start) // 2
    assert ranges == [None, f"bytes={second_start}-", f"bytes={third_start}-"]


def test_download_refetches_truncated_body(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "truncate")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200, 200]


def test_truncated_body_caught_by_size(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    data = np.random.default_rng(1).bytes(50_000)
    (root / "data.bin").write_bytes(data)
    dest = tmp_path / "data.bin"

    with FileServer(root, etag=None) as server:
        server.add_faults("data.bin", "truncate")
        download(
            server.url_for("data.bin"),
            dest,
            expected_size=len(data),
            **FAST,
        )
        statuses = _get_statuses(server)

    assert dest.read_bytes() == data
    assert statuses == [200, 206]


def test_download_refetches_corrupt_body(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "corrupt")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200, 200]


def test_download_retries_read_timeout(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    (root / "data.bin").write_bytes(b"x" * 1000)
    dest = tmp_path / "data.bin"

    with FileServer(root, stall_seconds=1.5) as server:
        server.add_faults("data.bin", "stall")
        download(
            server.url_for("data.bin"),
            dest,
            backoff=0.01,
            timeout=0.3,
        )
        faults = [r.fault for r in server.get_requests("data.bin")]

    assert dest.read_bytes() == b"x" * 1000
    assert faults == ["stall", None]


def test_download_restarts_when_range_ignored(served, tmp_path):
    server, data = served
    server.add_faults("data.bin", "drop", "ignore_range")
    dest = tmp_path / "data.bin"

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200, 200]


def test_download_restarts_when_file_changed(served, tmp_path, monkeypatch):
    server, data = served
    new_data = np.random.default_rng(5).bytes(80_000)
    server.add_faults("data.bin", "drop")
    dest = tmp_path / "data.bin"
    sleep = time.sleep

    def replace_remote_file_then_sleep(seconds):
        (server.root / "data.bin").write_bytes(new_data)
        sleep(seconds)

    # The downloader sleeps once, between the dropped attempt and the
    # retry, which is when the remote file changes here.
    monkeypatch.setattr(time, "sleep", replace_remote_file_then_sleep)
    download(server.url_for("data.bin"), dest, **FAST)
    monkeypatch.undo()

    assert dest.read_bytes() == new_data
    requests = server.get_requests("data.bin")
    assert [r.status for r in requests] == [200, 200]
    assert requests[1].range == f"bytes={len(data) // 2}-"


@pytest.mark.parametrize("status", [404, 403])
def test_client_error_fails_at_once(served, tmp_path, status):
    server, _ = served
    server.add_faults("data.bin", status)
    dest = tmp_path / "data.bin"
    url = server.url_for("data.bin")

    with pytest.raises(DownloadError) as error:
        download(url, dest, **FAST)

    assert url in str(error.value)
    assert f"HTTP {status}" in str(error.value)
    assert _get_statuses(server) == [status]
    assert not dest.exists()


def test_missing_file_fails_with_404(served, tmp_path):
    server, _ = served
    url = server.url_for("no/such/file.bin")

    with pytest.raises(DownloadError, match="HTTP 404"):
        download(url, tmp_path / "file.bin", **FAST)


def test_persistent_errors_exhaust_retries(served, tmp_path):
    server, _ = served
    server.add_faults("data.bin", *([502] * 10))
    dest = tmp_path / "data.bin"

    with pytest.raises(DownloadError, match="after 3 attempts"):
        download(server.url_for("data.bin"), dest, retries=2, **FAST)

    assert _get_statuses(server) == [502, 502, 502]
    assert not dest.exists()


def test_corrupt_cached_file_refetched(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    corrupt = bytearray(data)
    corrupt[1000:1010] = b"0123456789"
    dest.write_bytes(bytes(corrupt))
    sha256 = hashlib.sha256(data).hexdigest()

    download(server.url_for("data.bin"), dest, sha256=sha256, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200]


def test_valid_cached_file_not_refetched(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.write_bytes(data)

    download(
        server.url_for("data.bin"),
        dest,
        md5=hashlib.md5(data).hexdigest(),
        expected_size=len(data),
        **FAST,
    )

    assert server.requests == []


def test_cached_file_checked_against_server(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.write_bytes(data[:5000])

    download(server.url_for("data.bin"), dest, check_remote=True, **FAST)

    assert dest.read_bytes() == data
    assert len(server.get_requests("data.bin", method="HEAD")) == 1
    assert _get_statuses(server) == [200]


def test_cached_file_kept_when_server_down(tmp_path, caplog):
    root = tmp_path / "remote"
    root.mkdir()
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"cached")
    with FileServer(root) as server:
        url = server.url_for("data.bin")

    with caplog.at_level(logging.WARNING, logger="jne.sources.download"):
        download(url, dest, check_remote=True, **FAST)

    assert dest.read_bytes() == b"cached"
    assert "keeping the cached file" in caplog.text


def test_leftover_part_file_resumed(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.with_name("data.bin.part").write_bytes(data[:30_000])

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    requests = server.get_requests("data.bin")
    assert [r.range for r in requests] == ["bytes=30000-"]


def test_complete_part_file_accepted(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.with_name("data.bin.part").write_bytes(data)

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [416]


def test_oversized_part_file_replaced(served, tmp_path):
    server, data = served
    dest = tmp_path / "data.bin"
    dest.with_name("data.bin.part").write_bytes(data + b"extra bytes")

    download(server.url_for("data.bin"), dest, **FAST)

    assert dest.read_bytes() == data
    assert _get_statuses(server) == [416, 200]


def test_multipart_etag_not_used_as_md5(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    (root / "data.bin").write_bytes(b"abc" * 1000)

    with FileServer(root, etag="multipart") as server:
        download(server.url_for("data.bin"), tmp_path / "data.bin", **FAST)

    assert (tmp_path / "data.bin").read_bytes() == b"abc" * 1000


def test_md5_from_etag():
    digest = hashlib.md5(b"x").hexdigest()

    assert md5_from_etag(f'"{digest}"') == digest
    assert md5_from_etag(f'"{digest.upper()}"') == digest
    assert md5_from_etag(f'"{digest}-12"') is None
    assert md5_from_etag(f'W/"{digest}"') is None
    assert md5_from_etag(None) is None


def test_verify_file_reports_mismatch(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")

    assert verify_file(path, expected_size=5) is None
    assert "size is 5 bytes" in verify_file(path, expected_size=6)
    assert "sha256" in verify_file(path, sha256="0" * 64)
    assert verify_file(path, md5=hashlib.md5(b"hello").hexdigest()) is None


def test_concurrent_threads_download_once(served, tmp_path):
    server, data = served
    server.slow_seconds = 0.5
    server.add_faults("data.bin", "slow")
    dest = tmp_path / "data.bin"
    sha256 = hashlib.sha256(data).hexdigest()
    errors = []

    def run():
        try:
            download(server.url_for("data.bin"), dest, sha256=sha256, **FAST)
        except Exception as error:  # collected and checked below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200]


def _download_in_process(url, dest, sha256):
    download(url, dest, sha256=sha256, backoff=0.01, timeout=10)
    return hashlib.sha256(open(dest, "rb").read()).hexdigest()


def test_concurrent_processes_download_once(served, tmp_path):
    server, data = served
    server.slow_seconds = 1.0
    server.add_faults("data.bin", "slow")
    dest = tmp_path / "data.bin"
    sha256 = hashlib.sha256(data).hexdigest()
    context = multiprocessing.get_context("spawn")

    with context.Pool(2) as pool:
        results = pool.starmap(
            _download_in_process,
            [(server.url_for("data.bin"), str(dest), sha256)] * 2,
        )

    assert results == [sha256, sha256]
    assert dest.read_bytes() == data
    assert _get_statuses(server) == [200]
    assert not dest.with_name("data.bin.part").exists()


def test_parse_content_range():
    assert parse_content_range("bytes 10-99/100") == (10, 100)
    assert parse_content_range("bytes 10-99/*") == (10, None)
    assert parse_content_range("bytes */100") is None
    assert parse_content_range(None) is None
    assert parse_unsatisfied_range("bytes */100") == 100
    assert parse_unsatisfied_range("bytes 0-1/2") is None


def test_download_without_lock_support(served, tmp_path, monkeypatch, caplog):
    import errno

    import jne.sources.download as module

    server, data = served

    def reject_flock(handle, operation):
        # An error like the one flock raises on a file system without
        # lock support.
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(module.fcntl, "flock", reject_flock)
    with caplog.at_level(logging.WARNING, logger="jne.sources.download"):
        download(server.url_for("data.bin"), tmp_path / "data.bin", **FAST)

    assert (tmp_path / "data.bin").read_bytes() == data
    assert "does not support locking" in caplog.text
