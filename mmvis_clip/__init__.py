# isort:skip_file
"""mmvis_clip: STC and CiCo video instance segmentation for MMDetection 3.x.

Importing the package checks the installed OpenMMLab stack, sets
``OMP_NUM_THREADS`` to the free cores when imported before torch and the
user set no thread count (:mod:`mmvis_clip.utils.cpu_threads`), makes
mmengine checkpoints loadable under torch's weights-only ``torch.load`` and
registers every module of the package in mmdet's registries
(:func:`register_all_modules`), so that configs find them through
``custom_imports=dict(imports=['mmvis_clip'])``.

Except in a tool that runs no model (the dataset converters, ``eval_vis``,
``render_results``, ...): its main script sets ``__runs_no_model__ = True``
before its imports, and then importing the package imports none of torch,
mmdet or mmengine and registers nothing. Its subpackages that hold models,
datasets, hooks or metrics are then empty shells whose modules are
imported one by one (``from mmvis_clip.apis.frame_source import
FrameSource``, not ``from mmvis_clip.apis import FrameSource``), and
:func:`register_all_modules` loads the rest if ever needed.
"""
import importlib.util
import sys

from .version import __version__, version_info

__all__ = ['__version__', 'version_info', 'register_all_modules']

#: Subpackages whose ``__init__`` imports torch, mmdet or mmengine.
_REGISTERING_SUBPACKAGES = ('datasets', 'engine', 'evaluation', 'models',
                            'apis', 'visualization')
_registered = False


def runs_no_model() -> bool:
    """Whether the main script declares that it runs no model
    (``__runs_no_model__ = True``)."""
    main = sys.modules.get('__main__')
    return getattr(main, '__runs_no_model__', False) is True


def register_all_modules() -> None:
    """Check the stack, size the CPU threads, allow-list checkpoint types
    and import every module of the package (registering it in mmdet's
    registries); once per process."""
    global _registered
    if _registered:
        return
    _registered = True
    for name in _REGISTERING_SUBPACKAGES:  # shells of a light start
        module = sys.modules.get(f'{__name__}.{name}')
        if getattr(module, '__mmvis_clip_shell__', False):
            del sys.modules[f'{__name__}.{name}']
            delattr(sys.modules[__name__], name)

    from .utils.stack_check import check_stack
    check_stack()

    from .utils.cpu_threads import apply_cpu_thread_defaults
    # before torch loads (below): OMP_NUM_THREADS to the free cores,
    # unless set
    apply_cpu_thread_defaults()

    from .utils.checkpoint_safety import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()

    from . import datasets, engine, evaluation, models  # noqa: F401
    from . import apis, visualization  # noqa: F401


def _shell_subpackages() -> None:
    """Put the registering subpackages in ``sys.modules`` without running
    their ``__init__``, so that their light modules import alone."""
    for name in _REGISTERING_SUBPACKAGES:
        spec = importlib.util.find_spec(f'{__name__}.{name}')
        module = importlib.util.module_from_spec(spec)
        module.__mmvis_clip_shell__ = True
        sys.modules[spec.name] = module
        setattr(sys.modules[__name__], name, module)


if runs_no_model():
    _shell_subpackages()
else:
    register_all_modules()
