"""Make a CUDA_HOME out of the NVIDIA pip wheels of a Python environment.

A machine with only the NVIDIA driver has no CUDA toolkit, but NVIDIA ships
nvcc, the CUDA headers and libraries as pip wheels (``cuda-toolkit[nvcc,cccl]``
and the ``nvidia-*`` wheels a CUDA torch depends on). They install under
``site-packages/nvidia/`` in one folder per wheel (CUDA 12:
``nvidia/cuda_nvcc``, ``nvidia/cuda_runtime``, ...) or one folder per CUDA
major (CUDA 13: ``nvidia/cu13``), none of them the ``bin/ include/ lib64/``
tree that ``torch.utils.cpp_extension`` expects under ``CUDA_HOME``, and
without the unversioned ``libcudart.so`` the linker looks for.

This tool writes such a tree of symbolic links (``DEST/bin``, ``DEST/nvvm``,
``DEST/include``, ``DEST/lib64``) and prints DEST. It uses only the standard
library: it runs before anything else is installed.

Usage: python tools/misc/pip_cuda_home.py DEST
(run it with the environment's python: the wheels are found beside it).
"""
import os
import os.path as osp
import shutil
import site
import sys
import sysconfig


def nvidia_roots():
    """Every wheel folder under ``site-packages/nvidia`` that holds a
    ``bin``, ``include``, ``lib`` or ``nvvm`` folder, sorted by path."""
    dirs = {sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']}
    dirs.update(site.getsitepackages())
    roots = []
    for sp in sorted(dirs):
        top = osp.join(sp, 'nvidia')
        if not osp.isdir(top):
            continue
        for name in sorted(os.listdir(top)):
            root = osp.join(top, name)
            if any(
                    osp.isdir(osp.join(root, sub))
                    for sub in ('bin', 'include', 'lib', 'nvvm')):
                roots.append(root)
    return roots


def _link_children(src_dir, dst_dir):
    """Link every entry of src_dir into dst_dir (the first wheel to provide
    a name keeps it)."""
    os.makedirs(dst_dir, exist_ok=True)
    for name in sorted(os.listdir(src_dir)):
        dst = osp.join(dst_dir, name)
        if not osp.lexists(dst):
            os.symlink(osp.join(src_dir, name), dst)


def make_cuda_home(dest, roots=None):
    """Write the CUDA_HOME tree at ``dest`` and return ``dest``.

    Args:
        dest (str): The folder to write; an earlier one made by this tool is
            replaced, any other existing folder is refused.
        roots (list[str], optional): The wheel folders to link, first wins
            for a name that several provide (the nvcc wheel's always
            first). Defaults to :func:`nvidia_roots`.
    """
    roots = nvidia_roots() if roots is None else roots
    nvcc = [r for r in roots if osp.isfile(osp.join(r, 'bin', 'nvcc'))]
    if not nvcc:
        sys.exit('pip_cuda_home: no nvcc among the NVIDIA wheels of ' +
                 sys.executable + ' (pip install "cuda-toolkit[nvcc,cccl]'
                 '==<torch.version.cuda>.*")')
    marker = osp.join(dest, '.made-by-pip_cuda_home')
    if osp.exists(dest):
        if not osp.exists(marker):
            sys.exit(f'pip_cuda_home: {dest} exists and was not made by '
                     'this tool; not touching it')
        shutil.rmtree(dest)
    os.makedirs(dest)
    open(marker, 'w').close()
    # nvcc finds cudafe++, ptxas, crt/ and nvvm/ relative to its own
    # folder, so bin/ and nvvm/ come whole from the nvcc wheel
    os.symlink(osp.join(nvcc[0], 'bin'), osp.join(dest, 'bin'))
    if osp.isdir(osp.join(nvcc[0], 'nvvm')):
        os.symlink(osp.join(nvcc[0], 'nvvm'), osp.join(dest, 'nvvm'))
    for root in [nvcc[0]] + [r for r in roots if r != nvcc[0]]:
        if osp.isdir(osp.join(root, 'include')):
            _link_children(osp.join(root, 'include'), osp.join(dest,
                                                               'include'))
        if osp.isdir(osp.join(root, 'lib')):
            _link_children(osp.join(root, 'lib'), osp.join(dest, 'lib64'))
    # the linker's -lcudart needs the unversioned name
    lib64 = osp.join(dest, 'lib64')
    for name in sorted(os.listdir(lib64)):
        if name.startswith('libcudart.so.'):
            if not osp.lexists(osp.join(lib64, 'libcudart.so')):
                os.symlink(name, osp.join(lib64, 'libcudart.so'))
            break
    return dest


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: python tools/misc/pip_cuda_home.py DEST')
    print(make_cuda_home(osp.abspath(sys.argv[1])))
