"""Check that the installed OpenMMLab stack is one mmvis_clip works with.

mmdet 3.3 asserts on its own mmcv/mmengine bounds with a message that names
only one package; a user with a half-upgraded environment then fixes one
package at a time. :func:`check_stack` reads the installed versions *without
importing them* and reports every mismatch at once, with the pip command that
installs the verified stack.
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


def find_ops_problem(torch_cuda: Optional[str] = None,
                     mmcv_cuda: Optional[str] = None) -> Optional[str]:
    """One line when torch has CUDA but mmcv's ops were compiled without it.

    pip reuses a cached CPU build of mmcv (its wheel cache key ignores the
    torch build) and mmcv compiles its CUDA code only when it sees a GPU or
    ``FORCE_CUDA=1``; ``import mmcv.ops`` then succeeds and the first
    training step fails (``sigmoid_focal_loss``: implementation for device
    cuda:0 not found).

    Args:
        torch_cuda (str, optional): ``torch.version.cuda``; read from the
            installed torch when None.
        mmcv_cuda (str, optional): ``mmcv.ops.get_compiling_cuda_version()``
            ('not available' for a CPU build); read when None.

    Returns:
        str | None: The problem with the command that fixes it, or None.
    """
    if torch_cuda is None:
        import torch
        torch_cuda = torch.version.cuda
    if not torch_cuda:
        return None
    if mmcv_cuda is None:
        from mmcv.ops import get_compiling_cuda_version
        mmcv_cuda = get_compiling_cuda_version()
    if mmcv_cuda and mmcv_cuda != 'not available':
        return None
    return (f'torch is a CUDA {torch_cuda} build but mmcv\'s ops were '
            'compiled without CUDA (a cached CPU wheel?); rebuild them: '
            'TORCH_CUDA_ARCH_LIST="<your GPUs, e.g. 8.0;9.0>" FORCE_CUDA=1 '
            'pip install --no-cache-dir --force-reinstall --no-deps '
            '--no-build-isolation mmcv==2.1.0')


def check_install() -> None:
    """The install check of ``make install``: the stack versions
    (:func:`check_stack`) and, with a CUDA torch, mmcv's CUDA ops; raises
    one ImportError."""
    check_stack()
    problem = find_ops_problem()
    if problem:
        raise ImportError('mmvis_clip cannot run on this environment: ' +
                          problem)


def check_stack() -> None:
    """Raise one ImportError listing every stack mismatch, or return."""
    problems = find_stack_problems()
    if problems:
        raise ImportError('mmvis_clip cannot run on this environment:\n  - ' +
                          '\n  - '.join(problems) + '\n' + INSTALL_HINT)
