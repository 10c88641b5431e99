# isort:skip_file
"""mmvis_clip: STC and CiCo video instance segmentation for MMDetection 3.x.

Importing the package checks the installed OpenMMLab stack, makes
mmengine checkpoints loadable under torch's weights-only ``torch.load`` and
registers every module of the package in mmdet's registries.
"""
from .utils.stack_check import check_stack

check_stack()

from .utils.checkpoint_safety import register_checkpoint_safe_globals  # noqa: E402,E501

register_checkpoint_safe_globals()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from . import apis, visualization  # noqa: E402,F401
from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info']
