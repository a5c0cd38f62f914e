"""A run logged onto a nearly full disk (a small tmpfs; needs root to mount it): no exception reaches
the training code, what fits is kept and synced, and operations that did not fit are never lost
silently — ``verify`` and ``sync`` exit non-zero and say how many were dropped."""

from __future__ import annotations

import os
import subprocess

import pytest
from torture_check import journals
from torture_config import figures, seed
from torture_model import Report, build, compare
from torture_procs import StoreProcess, StoreReader, run_cli, start_child

PROJECT = "torture/disk"
DISK = 8 << 20
SEGMENT = 1 << 20
FREE = 3 << 19  # room for the first segment, two uploads and a little more


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the full-disk scenario mounts a tmpfs: run the tests as root to include it")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(mount)], check=True)
    try:
        with open(mount / "filler", "wb") as f:
            f.write(bytes(os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize - FREE))
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_loses_nothing_silently(tmp_path, small_disk):
    s = seed("full disk")
    data, journal = small_disk / "data", tmp_path / "journal"
    (tmp_path / "work").mkdir()
    spec = {
        "journal": str(journal), "project": PROJECT, "custom_run_id": "full", "tag": "p0", "seed": s,
        "calls": 100_000, "segment_size": SEGMENT, "upload_sizes": [200_000], "upload_every": 20_000,
        "scratch": False, "workdir": str(tmp_path / "work"),
    }
    child = start_child(spec, data)
    child.wait(300)
    errors = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    store = StoreProcess(tmp_path / "store", PROJECT)
    store.start()
    try:
        verify = run_cli(["verify"], data)
        sync = run_cli(["sync", "-q", "--timeout", "120"], data, store.token)
        model = build(journals([journal]))["full"]
        report: Report = compare(model, StoreReader(store.url, store.token, PROJECT).view("full"))
    finally:
        store.close()
    figures("full disk", returned_calls=model.calls, lost=report.lost, invented=report.invented,
            duplicated=report.duplicated, child_exit=child.returncode, verify_exit=verify[0], sync_exit=sync[0])
    complaints = []
    if child.returncode != 0:
        complaints.append(f"an exception reached the training code:\n{errors[-1500:]}")
    if report.invented or report.duplicated:
        complaints.append("\n".join(report.problems))
    for name, (code, out) in {"verify": verify, "sync": sync}.items():
        if report.lost and not (code != 0 and "dropped" in out.lower()):
            complaints.append(
                f"{report.lost} returned calls are not in the store, and `{name}` exits {code} without "
                f"saying so:\n{out[-800:]}\nwhat is missing:\n" + "\n".join(report.problems[:5])
            )
    assert not complaints, f"seed {s}:\n" + "\n".join(complaints)
