"""Atomic writes: content, no temporary files left, ordinary permissions."""
import os
import stat

import pytest

from mmvis_clip.utils.atomic_io import (dump_json_atomic, write_bytes_atomic,
                                        write_file_atomic)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_get_the_mode_open_would_give(tmp_path, umask_022):
    # mkstemp creates 0o600 files; a published checkpoint or results file
    # must be readable like any file the user writes
    plain = tmp_path / 'plain.bin'
    plain.write_bytes(b'x')
    assert mode(plain) == 0o644
    write_bytes_atomic(b'abc', str(tmp_path / 'a.bin'))
    write_file_atomic(str(tmp_path / 'b.bin'),
                      lambda p: open(p, 'wb').write(b'def'))
    dump_json_atomic({'b': 1, 'a': [2]}, str(tmp_path / 'c.json'))
    for name in ('a.bin', 'b.bin', 'c.json'):
        assert mode(tmp_path / name) == 0o644, name
    assert (tmp_path / 'a.bin').read_bytes() == b'abc'
    assert (tmp_path / 'b.bin').read_bytes() == b'def'
    assert (tmp_path / 'c.json').read_bytes() == b'{"a":[2],"b":1}'
    assert sorted(os.listdir(tmp_path)) == [
        'a.bin', 'b.bin', 'c.json', 'plain.bin'
    ]


def test_failed_write_leaves_nothing(tmp_path):

    def failing(path):
        open(path, 'wb').write(b'partial')
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        write_file_atomic(str(tmp_path / 'out.bin'), failing)
    assert os.listdir(tmp_path) == []
