import errno
import shutil
from collections import namedtuple
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from xcorpus.tables import atomic, write_parquet

Usage = namedtuple("Usage", "total used free")


def _torch_save(out: Path) -> None:
    """How save_checkpoint and save_training write."""
    with atomic(out) as tmp:
        torch.save({"epoch": 1}, tmp)


def _fill_then_fail(error: Exception):
    """A writer that writes part of its file, then fails as a full disk makes it fail."""

    def write(_obj, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 half a file")
        raise error

    return write


def test_full_disk_in_pyarrow_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    no_space = OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] ...")
    monkeypatch.setattr(pq, "write_table", _fill_then_fail(no_space))
    out = tmp_path / "index.parquet"
    with pytest.raises(OSError, match=r"^no space left on device while writing ") as caught:
        write_parquet(pa.table({"x": [1]}), out)
    assert str(caught.value) == f"no space left on device while writing {out}"
    assert caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_full_disk_in_torch_save_is_reported_as_such(tmp_path, monkeypatch):
    # torch's stream writer raises a RuntimeError without errno; the disk's free space decides.
    torch_error = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704")
    monkeypatch.setattr(torch, "save", _fill_then_fail(torch_error))
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10 << 20, 10 << 20, 0))
    out = tmp_path / "resume.pt"
    with pytest.raises(OSError) as caught:
        _torch_save(out)
    assert str(caught.value) == f"no space left on device while writing {out}"
    assert caught.value.__cause__ is torch_error
    assert list(tmp_path.iterdir()) == []


def test_other_write_errors_pass_through(tmp_path, monkeypatch):
    torch_error = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704")
    monkeypatch.setattr(torch, "save", _fill_then_fail(torch_error))
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10 << 30, 1 << 30, 9 << 30))
    with pytest.raises(RuntimeError) as caught:
        _torch_save(tmp_path / "resume.pt")
    assert caught.value is torch_error
    assert list(tmp_path.iterdir()) == []
