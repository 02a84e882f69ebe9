"""atomic_write / atomic_path: the target is replaced whole or not at all, and no temporary file stays."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from emostudio.atomic import atomic_path, atomic_write


def test_writes_bytes_and_text_and_replaces_the_old_file(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    assert atomic_write(target, "néw\n") == target
    assert target.read_text(encoding="utf-8") == "néw\n"
    atomic_write(target, b"\x00\x01", durable=True)
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_an_error_leaves_the_target_untouched_and_no_temporary_file(tmp_path):
    target = tmp_path / "song.mid"
    target.write_bytes(b"complete")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed while writing")
    assert target.read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]


def test_the_temporary_file_sits_beside_the_target_with_its_suffix(tmp_path):
    target = tmp_path / "arrays.npz"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".arrays.npz.tmp-")
        np.savez(tmp, x=np.arange(3))  # np.savez adds .npz unless the name has it
    assert np.load(target)["x"].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]


def test_permissions_follow_the_umask_not_mkstemps_private_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "shared.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o644
