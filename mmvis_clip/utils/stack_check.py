"""Check that the installed OpenMMLab stack is one mmvis_clip works with:
every mismatch at once, versions read without importing the packages.
"""
from importlib import metadata
from typing import Dict, List, Optional, Tuple

from packaging.version import Version

#: name -> (lowest allowed, first disallowed, verified version)
SUPPORTED: Dict[str, Tuple[str, str, str]] = {
    'mmengine': ('0.10.0', '1.0.0', '0.10.7'),
    'mmcv': ('2.0.0', '2.2.0', '2.1.0'),
    'mmdet': ('3.3.0', '3.4.0', '3.3.0'),
}

INSTALL_HINT = (
    'Install the verified stack (mmcv compiled with its ops against your '
    'torch):\n'
    '    pip install "setuptools>=77,<81" wheel ninja\n'
    '    pip install --no-build-isolation mmcv==2.1.0\n'
    '    pip install mmengine==0.10.7 mmdet==3.3.0\n'
    'or run `make install` in the mmvis_clip repository.')


def _installed_version(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def find_stack_problems(
        versions: Optional[Dict[str, Optional[str]]] = None) -> List[str]:
    """Return one line per missing or unsupported package.

    Args:
        versions: package name -> installed version (None when missing).
            Defaults to what is installed in the running environment.
    """
    if versions is None:
        versions = {name: _installed_version(name) for name in SUPPORTED}
    problems = []
    for name, (low, high, verified) in SUPPORTED.items():
        found = versions.get(name)
        if found is None:
            if name == 'mmcv' and _installed_version('mmcv-lite'):
                problems.append(
                    'mmcv-lite is installed but mmvis_clip needs the full '
                    f'mmcv=={verified} with its compiled ops (mmdet imports '
                    'mmcv.ops); uninstall mmcv-lite')
            else:
                problems.append(f'{name} is not installed '
                                f'(need {name}>={low},<{high}; '
                                f'verified: {verified})')
        elif not Version(low) <= Version(found) < Version(high):
            problems.append(f'{name}=={found} is installed but mmvis_clip '
                            f'needs {name}>={low},<{high} '
                            f'(verified: {verified})')
    return problems


def _ops_builds(torch_cuda, mmcv_cuda, gpu_visible):
    """Fill in what is not given from the installed torch and mmcv."""
    if torch_cuda is None or gpu_visible is None:
        import torch
        if torch_cuda is None:
            torch_cuda = torch.version.cuda or ''
        if gpu_visible is None:
            gpu_visible = torch.cuda.is_available()
    if mmcv_cuda is None:
        from mmcv.ops import get_compiling_cuda_version
        mmcv_cuda = get_compiling_cuda_version()
    if mmcv_cuda == 'not available':
        mmcv_cuda = ''
    return torch_cuda, mmcv_cuda, gpu_visible


REBUILD_HINT = ('TORCH_CUDA_ARCH_LIST="<your GPUs, e.g. 8.0;9.0>" '
                'tools/misc/build_mmcv.sh $(which python) cuda, or '
                '`make install CUDA=<cuXY>` in the mmvis_clip repository')


def find_ops_problem(torch_cuda: Optional[str] = None,
                     mmcv_cuda: Optional[str] = None,
                     gpu_visible: Optional[bool] = None) -> Optional[str]:
    """One line when a visible GPU cannot run mmcv's ops (a CUDA torch
    with a cached CPU build of mmcv).

    Args:
        torch_cuda (str, optional): ``torch.version.cuda`` ('' for a CPU
            build); read from the installed torch when None.
        mmcv_cuda (str, optional): ``mmcv.ops.get_compiling_cuda_version()``
            ('not available' for a CPU build); read when None.
        gpu_visible (bool, optional): ``torch.cuda.is_available()``; read
            when None.

    Returns:
        str | None: The problem with the command that fixes it, or None.
    """
    torch_cuda, mmcv_cuda, gpu_visible = _ops_builds(torch_cuda, mmcv_cuda,
                                                     gpu_visible)
    if not torch_cuda or mmcv_cuda or not gpu_visible:
        return None
    return (f'torch is a CUDA {torch_cuda} build and a GPU is visible but '
            'mmcv\'s ops were compiled without CUDA (a cached CPU wheel?); '
            'rebuild them: ' + REBUILD_HINT)


def describe_ops(torch_cuda: Optional[str] = None,
                 mmcv_cuda: Optional[str] = None,
                 gpu_visible: Optional[bool] = None) -> str:
    """One line saying which devices mmcv's compiled ops serve (Args as
    :func:`find_ops_problem`)."""
    torch_cuda, mmcv_cuda, gpu_visible = _ops_builds(torch_cuda, mmcv_cuda,
                                                     gpu_visible)
    if mmcv_cuda:
        return (f'mmcv ops: CPU and CUDA {mmcv_cuda} (torch: CUDA '
                f'{torch_cuda or "none"}, GPU visible: '
                f'{"yes" if gpu_visible else "no"})')
    if not torch_cuda:
        return 'mmcv ops: CPU only (torch is a CPU build)'
    return (f'mmcv ops: CPU only: torch is a CUDA {torch_cuda} build but no '
            'GPU is visible, so mmcv was compiled without CUDA; this install '
            'runs on the CPU (for a GPU: ' + REBUILD_HINT + ')')


def check_install() -> None:
    """The install check of ``make install``: the stack versions
    (:func:`check_stack`) and mmcv's ops against torch and the visible GPU;
    raises one ImportError, or prints one line on the ops' devices."""
    check_stack()
    problem = find_ops_problem()
    if problem:
        raise ImportError('mmvis_clip cannot run on this environment: ' +
                          problem)
    print(describe_ops())


def check_stack() -> None:
    """Raise one ImportError listing every stack mismatch, or return."""
    problems = find_stack_problems()
    if problems:
        raise ImportError('mmvis_clip cannot run on this environment:\n  - ' +
                          '\n  - '.join(problems) + '\n' + INSTALL_HINT)
