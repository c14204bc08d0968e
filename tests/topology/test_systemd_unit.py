"""deploy/systemd/connect@.service as systemd reads it: ``systemd-analyze verify`` on the
shipped unit (only the install paths pointed at this machine) finds no unknown key, no unknown
system call group and no other complaint; and the state directory is systemd's to create."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.stack import ROOT

pytestmark = pytest.mark.topology

UNIT = ROOT / "deploy" / "systemd" / "connect@.service"


def test_the_unit_creates_its_state_directory_readable_by_nginx() -> None:
    lines = set(UNIT.read_text().splitlines())
    assert "StateDirectory=connect" in lines and "StateDirectoryMode=0755" in lines
    # A ReadWritePaths= of a directory nothing creates fails the unit's mount namespace.
    assert not any(line.startswith("ReadWritePaths=") for line in lines)


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart's program exists: point the install paths here.
    text = UNIT.read_text()
    text = text.replace("/srv/connect/.venv/bin/gunicorn", shutil.which("true") or "/bin/true")
    text = text.replace("/srv/connect", str(tmp_path))
    (tmp_path / "connect@.service").write_text(text)
    (tmp_path / "connect@8001.service").symlink_to("connect@.service")
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "connect@8001.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
