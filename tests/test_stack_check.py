"""One clear message for an unsupported OpenMMLab stack."""
import pytest

from mmvis_clip.utils import stack_check
from mmvis_clip.utils.stack_check import SUPPORTED, find_stack_problems

GOOD = {name: verified for name, (_, _, verified) in SUPPORTED.items()}


def test_installed_stack_is_supported():
    assert find_stack_problems() == []


def test_verified_versions_pass():
    assert find_stack_problems(GOOD) == []


def test_every_mismatch_is_reported_at_once():
    problems = find_stack_problems(
        dict(GOOD, mmcv='2.2.0', mmdet='3.2.0', mmengine=None))
    assert len(problems) == 3
    text = '\n'.join(problems)
    assert 'mmcv==2.2.0 is installed but mmvis_clip needs mmcv>=2.0.0,<2.2.0'\
        in text
    assert 'mmdet==3.2.0 is installed' in text
    assert 'mmengine is not installed' in text


def test_mmcv_lite_is_named(monkeypatch):
    monkeypatch.setattr(
        stack_check, '_installed_version',
        lambda name: '2.1.0' if name == 'mmcv-lite' else None)
    problems = find_stack_problems(dict(GOOD, mmcv=None))
    assert problems == [
        'mmcv-lite is installed but mmvis_clip needs the full mmcv==2.1.0 '
        'with its compiled ops (mmdet imports mmcv.ops); uninstall mmcv-lite'
    ]


def test_check_stack_raises_one_import_error_with_install_hint(monkeypatch):
    monkeypatch.setattr(stack_check, 'find_stack_problems',
                        lambda: ['mmdet==3.2.0 is installed but ...'])
    with pytest.raises(ImportError) as err:
        stack_check.check_stack()
    assert 'mmdet==3.2.0' in str(err.value)
    assert 'pip install --no-build-isolation mmcv==2.1.0' in str(err.value)


def test_ops_check_by_torch_mmcv_and_gpu():
    find = stack_check.find_ops_problem
    assert find('12.6', '12.6', True) is None
    assert find('', 'not available', False) is None
    assert find('', 'not available', True) is None  # CPU torch on a GPU box
    # CUDA torch, CPU-only ops, no GPU: a working CPU install (plain pip)
    assert find('13.0', 'not available', False) is None
    problem = find('12.6', 'not available', True)
    assert 'CUDA 12.6 build and a GPU is visible' in problem
    assert 'build_mmcv.sh' in problem and 'make install CUDA=' in problem


def test_ops_described_in_one_line():
    describe = stack_check.describe_ops
    assert describe('', 'not available', False) == \
        'mmcv ops: CPU only (torch is a CPU build)'
    line = describe('13.0', 'not available', False)
    assert line.startswith('mmcv ops: CPU only: torch is a CUDA 13.0 build '
                           'but no GPU is visible')
    assert '\n' not in line
    assert describe('13.0', '13.0', True) == \
        'mmcv ops: CPU and CUDA 13.0 (torch: CUDA 13.0, GPU visible: yes)'


def test_check_install_fails_on_cpu_ops_with_cuda_torch_and_gpu(
        monkeypatch, capsys):
    import torch
    monkeypatch.setattr(torch.version, 'cuda', '12.6')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    # the mmcv built here has no CUDA ops
    with pytest.raises(ImportError, match='compiled without CUDA'):
        stack_check.check_install()
    # no GPU visible: accepted, and said in one line
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    stack_check.check_install()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith('mmcv ops: CPU only: torch is a CUDA 12.6 build')
    monkeypatch.setattr(torch.version, 'cuda', None)
    stack_check.check_install()
    assert capsys.readouterr().out == \
        'mmcv ops: CPU only (torch is a CPU build)\n'
