"""Settings from keyword arguments and the environment; durability from the filesystem type."""

from __future__ import annotations

import pytest

from neptune_sync import config
from neptune_sync.exceptions import NeptuneUserError

MOUNTS = """\
/dev/sda1 / ext4 rw 0 0
server:/export /mnt/shared nfs4 rw 0 0
sshfs#me@host: /mnt/shared/fuse fuse.sshfs rw 0 0
/dev/sdb1 /mnt/shared/local ext4 rw 0 0
"""


@pytest.fixture
def mounts(tmp_path, monkeypatch):
    monkeypatch.delenv("NEPTUNE_SYNC_DURABILITY", raising=False)
    path = tmp_path / "mounts"
    path.write_text(MOUNTS)
    return str(path)


@pytest.mark.parametrize(
    "target, fstype, durability",
    [
        ("/home/me/data", "ext4", "mmap"),
        ("/mnt/shared/runs", "nfs4", "buffered"),
        ("/mnt/shared", "nfs4", "buffered"),
        ("/mnt/shared/fuse/x", "fuse.sshfs", "buffered"),
        ("/mnt/shared/local/x", "ext4", "mmap"),
        ("/mnt/sharedother", "ext4", "mmap"),
    ],
)
def test_durability_follows_the_longest_matching_mount(mounts, target, fstype, durability):
    assert config.filesystem_type(target, mounts) == fstype
    assert config.durability_for(target, mounts) == durability


def test_durability_env_overrides_and_missing_mounts_file(mounts, monkeypatch, tmp_path):
    monkeypatch.setenv("NEPTUNE_SYNC_DURABILITY", "buffered")
    assert config.durability_for("/home/me", mounts) == "buffered"
    assert config.filesystem_type("/x", str(tmp_path / "none")) == ""


def test_resolve_reads_env_and_validates(monkeypatch):
    monkeypatch.setenv("NEPTUNE_SYNC_STRICT", "1")
    monkeypatch.setenv("NEPTUNE_SYNC_NO_DAEMON", "true")
    conf = config.resolve(project=None, api_token=None, mode="offline", flush_period=None, strict=None)
    assert (conf.project, conf.strict, conf.start_daemon, conf.flush_period) == (
        "offline/project",
        True,
        False,
        5.0,
    )
    assert (
        config.resolve(project="a/b", api_token=None, mode="debug", flush_period=1, strict=False).strict
        is False
    )
    with pytest.raises(NeptuneUserError, match="flush_period must be > 0"):
        config.resolve(project="a/b", api_token=None, mode="offline", flush_period=0, strict=None)
