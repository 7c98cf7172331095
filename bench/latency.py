"""Alert latency: a file renamed into the inbox → the alert at a real HTTP receiver.

Each probe is a small article mentioning a watched word, written outside
the inbox and renamed in; the clock starts at the rename and stops when
the receiver on 127.0.0.1 has the webhook. Probes go one at a time (so
each measures the whole path, not a queue), at idle and while a
background writer renames corpus articles into the inbox at 50 per
second. Beside it, in the same run, the baseline a user would write
instead: ``inotifywait -m -e close_write,moved_to`` piped into ``grep``
and ``curl``, given the same probes and the same receiver (skipped with a
message when inotify-tools is missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.backfill import DEFAULT_CORPUS, corpus_files
from bench.harness import Daemon, wait_for, write_config
from bench.receiver import Receiver

PROBE_RULE = """
[[rules]]
name = "latency-probe"
type = "term"
terms = ["zqxprobe"]
query_key = "article"
destinations = ["hook"]
"""


def _probe_text(n: int) -> bytes:
    return f"Probe {n}\n\nThe zqxprobe number {n} was sent at {time.time():.6f}.\n".encode()


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "count": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": ordered[-1],
    }


class Background:
    """Renames corpus articles into the inbox at a steady rate until stopped."""

    def __init__(self, files: list[Path], inbox: Path, staging: Path, rate: float) -> None:
        self.files, self.inbox, self.staging, self.rate = files, inbox, staging, rate
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = time.monotonic()
        while not self.stop.is_set():
            src = self.files[self.sent % len(self.files)]
            tmp = self.staging / f"bg-{self.sent}.txt"
            # vary the bytes so each is a new article, as a live feed would be
            tmp.write_bytes(src.read_bytes() + f"\n(background {self.sent})\n".encode())
            os.rename(tmp, self.inbox / tmp.name)
            self.sent += 1
            self.stop.wait(max(0.0, started + self.sent / self.rate - time.monotonic()))

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _send_probes(
    inbox: Path, staging: Path, receiver: Receiver, path: str, count: int, first: int
) -> list[float]:
    """Rename ``count`` probes in one by one; the latency of each in milliseconds."""
    latencies = []
    for n in range(first, first + count):
        tmp = staging / f"probe-{n}.txt"
        tmp.write_bytes(_probe_text(n))
        before = len(receiver.at(path))
        t0 = time.monotonic()
        os.rename(tmp, inbox / tmp.name)
        wait_for(lambda b=before: len(receiver.at(path)) > b, 30, f"probe {n}")
        latencies.append((receiver.at(path)[before].at - t0) * 1000)
    return latencies


def wirewatch_latency(probes: int, files: list[Path]) -> dict[str, Any]:
    receiver = Receiver().start()
    with tempfile.TemporaryDirectory(prefix="wirewatch-latency-") as tmp:
        root = Path(tmp)
        rules = root / "rules"
        rules.mkdir()
        (rules / "probe.toml").write_text(PROBE_RULE, encoding="utf-8")
        staging = root / "staging"
        staging.mkdir()
        sink = {
            "type": "webhook",
            "url": receiver.url("/hook"),
            "allow_private": True,
            "rate_per_second": 1000.0,
            "burst": 100,
        }
        config = write_config(
            root,
            rules={"dir": str(rules)},
            sinks={"hook": sink},
        )
        daemon = Daemon(root, config)
        daemon.start()
        try:
            _send_probes(daemon.inbox, staging, receiver, "/hook", 20, 0)  # warm-up
            idle = _send_probes(daemon.inbox, staging, receiver, "/hook", probes, 1000)
            with Background(files, daemon.inbox, staging, 50.0) as bg:
                loaded = _send_probes(daemon.inbox, staging, receiver, "/hook", probes, 5000)
            background_sent = bg.sent
            daemon.stop()
        finally:
            receiver.stop()
            if daemon.proc is not None:
                daemon.proc.kill()
    return {
        "idle": percentiles(idle),
        "background_50_per_s": percentiles(loaded),
        "background_articles": background_sent,
        "raw_idle_ms": idle,
        "raw_background_ms": loaded,
    }


BASELINE = r"""
inotifywait -q -m -e close_write,moved_to --format '%w%f' "$INBOX" |
while read -r f; do
  if grep -q zqxprobe "$f"; then
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      --data "{\"text\": \"$(head -n 1 "$f")\"}" "$URL"
  fi
done
"""


def baseline_latency(probes: int) -> dict[str, Any]:
    if shutil.which("inotifywait") is None or shutil.which("curl") is None:
        return {"skipped": "inotifywait or curl missing (apt-get install inotify-tools curl)"}
    receiver = Receiver().start()
    with tempfile.TemporaryDirectory(prefix="wirewatch-baseline-") as tmp:
        root = Path(tmp)
        inbox, staging = root / "inbox", root / "staging"
        inbox.mkdir()
        staging.mkdir()
        env = {**os.environ, "INBOX": str(inbox), "URL": receiver.url("/shell")}
        shell = subprocess.Popen(["bash", "-c", BASELINE], env=env, start_new_session=True)
        try:
            # inotifywait needs a moment to set its watch: probe until one arrives
            deadline = time.monotonic() + 10
            while not receiver.at("/shell") and time.monotonic() < deadline:
                _send_probes_nowait(inbox, staging)
            wait_for(lambda: receiver.at("/shell"), 10, "the shell pipeline to start")
            lat = _send_probes(inbox, staging, receiver, "/shell", probes, 1000)
        finally:
            os.killpg(shell.pid, 15)
            shell.wait()
            receiver.stop()
    return {"idle": percentiles(lat), "raw_idle_ms": lat}


def _send_probes_nowait(inbox: Path, staging: Path) -> None:
    tmp = staging / f"warm-{time.monotonic_ns()}.txt"
    tmp.write_bytes(_probe_text(0))
    os.rename(tmp, inbox / tmp.name)
    time.sleep(0.2)


def run(corpus: Path = DEFAULT_CORPUS, probes: int = 500) -> dict[str, Any]:
    ours = wirewatch_latency(probes, corpus_files(corpus))
    shell = baseline_latency(probes)
    result: dict[str, Any] = {"wirewatch": ours, "shell_baseline": shell}
    if "idle" in shell:
        result["ratio_p50_wirewatch_vs_shell"] = ours["idle"]["p50_ms"] / shell["idle"]["p50_ms"]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--probes", type=int, default=500)
    args = ap.parse_args()
    result = run(args.corpus, args.probes)
    for side in ("wirewatch", "shell_baseline"):
        for k in [k for k in result[side] if k.startswith("raw_")]:
            del result[side][k]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
