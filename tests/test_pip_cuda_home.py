"""tools/misc/pip_cuda_home.py: a CUDA_HOME made of NVIDIA's pip wheels, in
both wheel layouts (CUDA 12: a folder per wheel; CUDA 13: nvidia/cu13)."""
import importlib.util
import os
import os.path as osp

import pytest

_spec = importlib.util.spec_from_file_location(
    'pip_cuda_home',
    osp.join(osp.dirname(__file__), '..', 'tools', 'misc', 'pip_cuda_home.py'))
pip_cuda_home = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pip_cuda_home)


def _touch(path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    open(path, 'w').close()


def _cu12_wheels(nvidia):
    """The files of nvidia-cuda-nvcc-cu12, -runtime-cu12, -cccl-cu12 and
    -cublas-cu12 that matter here."""
    for rel in [
            'cuda_nvcc/bin/nvcc', 'cuda_nvcc/bin/ptxas',
            'cuda_nvcc/nvvm/bin/cicc', 'cuda_nvcc/include/crt/host_config.h',
            'cuda_runtime/include/cuda_runtime.h',
            'cuda_runtime/lib/libcudart.so.12',
            'cuda_cccl/include/cub/cub.cuh',
            'cublas/include/cublas_v2.h', 'cublas/lib/libcublas.so.12'
    ]:
        _touch(osp.join(nvidia, rel))
    # a wheel folder without any of bin / include / lib / nvvm is ignored
    _touch(osp.join(nvidia, '__init__.py'))
    return sorted(
        osp.join(nvidia, d) for d in os.listdir(nvidia)
        if osp.isdir(osp.join(nvidia, d)))


def test_cuda12_wheels_become_one_tree(tmp_path):
    roots = _cu12_wheels(str(tmp_path / 'nvidia'))
    home = str(tmp_path / 'cuda-12.8')
    assert pip_cuda_home.make_cuda_home(home, roots) == home
    assert osp.realpath(osp.join(home, 'bin')) == osp.realpath(
        tmp_path / 'nvidia' / 'cuda_nvcc' / 'bin')
    assert osp.isfile(osp.join(home, 'bin', 'ptxas'))
    assert osp.isfile(osp.join(home, 'nvvm', 'bin', 'cicc'))
    assert sorted(os.listdir(osp.join(home, 'include'))) == [
        'crt', 'cub', 'cublas_v2.h', 'cuda_runtime.h']
    assert osp.isfile(osp.join(home, 'include', 'cub', 'cub.cuh'))
    lib64 = osp.join(home, 'lib64')
    assert sorted(os.listdir(lib64)) == [
        'libcublas.so.12', 'libcudart.so', 'libcudart.so.12']
    # the linker's -lcudart: the unversioned name, relative to lib64
    assert os.readlink(osp.join(lib64, 'libcudart.so')) == 'libcudart.so.12'
    assert osp.isfile(osp.join(lib64, 'libcudart.so'))


def test_cuda13_layout_and_remaking(tmp_path):
    cu13 = tmp_path / 'nvidia' / 'cu13'
    for rel in ['bin/nvcc', 'nvvm/bin/cicc', 'include/cuda_runtime.h',
                'lib/libcudart.so.13']:
        _touch(str(cu13 / rel))
    home = str(tmp_path / 'cuda-13.0')
    pip_cuda_home.make_cuda_home(home, [str(cu13)])
    assert os.listdir(osp.join(home, 'include')) == ['cuda_runtime.h']
    # made again over its own earlier tree: replaced
    _touch(str(cu13 / 'include' / 'cuda_fp16.h'))
    pip_cuda_home.make_cuda_home(home, [str(cu13)])
    assert sorted(os.listdir(osp.join(home, 'include'))) == [
        'cuda_fp16.h', 'cuda_runtime.h']


def test_refuses_a_folder_it_did_not_make_and_wheels_without_nvcc(tmp_path):
    cu13 = tmp_path / 'nvidia' / 'cu13'
    _touch(str(cu13 / 'include' / 'cuda_runtime.h'))
    with pytest.raises(SystemExit, match='no nvcc'):
        pip_cuda_home.make_cuda_home(str(tmp_path / 'home'), [str(cu13)])
    _touch(str(cu13 / 'bin' / 'nvcc'))
    mine = tmp_path / 'usr-local-cuda'
    _touch(str(mine / 'bin' / 'nvcc'))
    with pytest.raises(SystemExit, match='was not made by this tool'):
        pip_cuda_home.make_cuda_home(str(mine), [str(cu13)])
    assert osp.isfile(mine / 'bin' / 'nvcc')  # untouched
