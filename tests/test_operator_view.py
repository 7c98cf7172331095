"""What an operator sees of a running daemon: /healthz, /metrics, /status, `status`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Daemon, db_scalar, drop, seed_files, wait_for, write_config

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_and_status_agree_with_the_database(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, health={"enabled": True, "port": port})
    d = Daemon(tmp_path, config)
    d.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for seed in seed_files():
            drop(seed, d.inbox)
        drop(seed_files()[0], d.inbox, "copy.txt")
        (d.inbox / "empty.txt").write_bytes(b"")
        wait_for(lambda: d.articles() == 5, what="5 articles")
        wait_for(
            lambda: (
                db_scalar(d.db, "SELECT count(*) FROM sightings") == 6
                and db_scalar(d.db, "SELECT count(*) FROM quarantine") == 1
            ),
            what="the copy and the empty file to be handled",
        )
        assert httpx.get(f"{base}/healthz").status_code == 200

        m = samples(httpx.get(f"{base}/metrics").text)
        assert m[("wirewatch_articles_ingested_total", ())] == d.articles() == 5
        assert m[("wirewatch_articles_duplicate_total", ())] == 1
        assert m[("wirewatch_files_quarantined_total", (("reason", "empty"),))] == 1
        parse_count = m[("wirewatch_stage_seconds_count", (("stage", "parse"),))]
        assert parse_count == 6  # five seeds and the copy; the empty file never parsed

        out = subprocess.run(
            [sys.executable, "-m", "wirewatch", "--config", str(config), "status", "--json"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        status = json.loads(out.stdout)
        assert d.proc is not None
        assert status["daemon"]["pid"] == d.proc.pid
        assert status["daemon"]["healthy"] is True
        assert status["database"]["articles"] == 5
        assert status["database"]["today"] == 5
        assert status["database"]["quarantined"] == 1
        assert d.stop() == 0
    finally:
        if d.proc is not None:
            d.proc.kill()
            d.proc.wait()
