"""The systemd unit: valid, tightly sandboxed, and consistent with its config.

``systemd-analyze`` checks the unit the way systemd will load it; the
sandbox claims that systemd cannot check offline (CPython runs without
writable-executable memory) are checked by running the code under the
kernel's equivalent restriction.
"""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wirewatch.config import load_config

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "wirewatch.service"
EXAMPLE = REPO / "systemd" / "wirewatch.toml"
INSTALLED_BINARY = "/opt/wirewatch/bin/wirewatch"
MAX_EXPOSURE = 1.5

analyze = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(analyze is None, reason="systemd-analyze not installed")


def unit_settings() -> dict[str, list[str]]:
    """Every ``Key=value`` of the unit, values in file order."""
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def local_binary() -> Path:
    candidate = Path(sys.executable).with_name("wirewatch")
    if candidate.exists():
        return candidate.absolute()
    found = shutil.which("wirewatch")
    if found is None:
        pytest.skip("the wirewatch console script is not installed")
    return Path(found).absolute()


@needs_analyze
def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    # verify checks that every Exec binary exists, and /opt/wirewatch is not
    # installed here: check a copy that points at this checkout's script.
    copy = tmp_path / "wirewatch.service"
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED_BINARY in text
    copy.write_text(text.replace(INSTALLED_BINARY, str(local_binary())), encoding="utf-8")
    assert analyze is not None
    proc = subprocess.run(
        [analyze, "--no-pager", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, output
    assert output == ""


@needs_analyze
def test_security_exposure_is_low() -> None:
    assert analyze is not None
    proc = subprocess.run(
        [analyze, "--no-pager", "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "offline" in proc.stderr and proc.returncode != 0:
        pytest.skip(f"this systemd-analyze has no --offline: {proc.stderr.strip()}")
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    exposure = float(match.group(1))
    assert exposure <= MAX_EXPOSURE, proc.stdout


def test_unit_settings_the_service_relies_on() -> None:
    s = unit_settings()
    assert s["Type"] == ["notify"]
    assert s["NotifyAccess"] == ["main"]
    assert s["WatchdogSec"] == ["30s"]
    assert s["ExecReload"][-1] == "/bin/kill -HUP $MAINPID"
    assert s["StateDirectory"] == ["wirewatch"]
    assert s["ConfigurationDirectory"] == ["wirewatch"]
    assert s["WorkingDirectory"] == ["/var/lib/wirewatch"]
    commands = s["ExecStartPre"] + s["ExecStart"] + s["ExecReload"][:-1]
    for command in commands:
        assert command.startswith(f"{INSTALLED_BINARY} --config /etc/wirewatch/wirewatch.toml ")
    assert s["ExecStart"][0].endswith(" run")
    assert all(c.endswith(" check") for c in s["ExecStartPre"] + s["ExecReload"][:-1])


def test_example_config_writes_only_where_the_unit_allows() -> None:
    cfg, _ = load_config(EXAMPLE, env={})
    s = unit_settings()
    writable = [Path(p.lstrip("-")) for v in s["ReadWritePaths"] for p in v.split()]
    writable += [Path("/var/lib") / d for v in s["StateDirectory"] for d in v.split()]
    paths = [
        *cfg.watch.inboxes,
        cfg.store.state_dir,
        cfg.store.database_path,
        cfg.store.processed_dir,
        cfg.store.quarantine_dir,
    ]
    for path in paths:
        assert path.is_absolute(), path
        assert any(path.is_relative_to(w) for w in writable), f"{path} is read-only in the unit"
    # Moves from the inbox are renames only within one tree.
    srv = Path("/srv/wirewatch")
    assert all(p.is_relative_to(srv) for p in cfg.watch.inboxes)
    assert cfg.store.processed_dir.is_relative_to(srv)
    assert cfg.store.quarantine_dir.is_relative_to(srv)
    assert cfg.log.format == "json"


def _mdwe_supported() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(66, 0, 0, 0, 0)) >= 0  # PR_GET_MDWE, Linux 6.3+


# Sets the kernel's "memory deny write-execute" flag (inherited across exec),
# then becomes the wirewatch command.
_MDWE_EXEC = textwrap.dedent(
    """
    import ctypes, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
        sys.exit(f"prctl(PR_SET_MDWE) failed: errno {ctypes.get_errno()}")
    os.execv(sys.argv[1], sys.argv[1:])
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_pipeline_runs_without_writable_executable_memory(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes must not break parsing, extraction or storage.

    A dependency with a JIT or an executable-stack library would fail here
    (or get killed under systemd) instead of in production.
    """
    if not _mdwe_supported():
        pytest.skip("kernel without PR_SET_MDWE")
    config = tmp_path / "wirewatch.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [watch]
            inboxes = ["{tmp_path / "inbox"}"]
            [store]
            state_dir = "{tmp_path / "var"}"
            processed_dir = "{tmp_path / "processed"}"
            quarantine_dir = "{tmp_path / "quarantine"}"
            after_store = "keep"
            """
        ),
        encoding="utf-8",
    )
    seeds = REPO / "seeds"
    binary = local_binary()
    command = [str(binary), "--config", str(config), "ingest", str(seeds), "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-c", _MDWE_EXEC, *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["failed"] == 0
    assert summary["stored"] == len(list(seeds.glob("*.txt")))
