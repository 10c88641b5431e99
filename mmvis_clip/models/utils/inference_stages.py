"""Named stages of inference, marked by the code that runs them.

A model marks the stages of its inference path itself::

    with inference_stage('backbone'):
        x = self.backbone(img)

and a profiler (``tools/analysis/benchmark_vis.py``) receives them while
it is active::

    with record_inference_stages(recorder):   # recorder.enter / .exit
        segmenter.push(frame)

Without an active recorder a marker does nothing (one global read). Marks
nest; the recorder gets every ``enter(name)`` / ``exit(name)`` in call
order, properly nested, and decides how nested stages count.

Stage names used by the package's models and the stream API:
``'pre-processing'``, ``'backbone'``, ``'neck'``, ``'heads'``, ``'mask'``,
``'tracking'``, and ``'model'`` around a model's whole ``step`` / ``flush``.
"""
from contextlib import contextmanager, nullcontext
from typing import Iterator, Optional

from torch import nn

#: The active recorder (one per process), or None.
_recorder = None

_NO_STAGE = nullcontext()


class _Stage:
    """Reports entering and leaving one stage to a recorder."""

    __slots__ = ('recorder', 'name')

    def __init__(self, recorder, name: str) -> None:
        self.recorder = recorder
        self.name = name

    def __enter__(self) -> None:
        self.recorder.enter(self.name)

    def __exit__(self, *exc_info) -> None:
        self.recorder.exit(self.name)


def inference_stage(name: str):
    """Context manager marking the code it wraps as stage ``name``.

    Args:
        name (str): Stage name.

    Returns:
        A context manager: reports ``name`` to the active recorder, or does
        nothing when none is active (see :func:`record_inference_stages`).
    """
    recorder = _recorder
    return _NO_STAGE if recorder is None else _Stage(recorder, name)


def active_recorder() -> Optional[object]:
    """The recorder of the enclosing :func:`record_inference_stages`, or
    None."""
    return _recorder


@contextmanager
def record_inference_stages(recorder) -> Iterator[None]:
    """Report every marked stage to ``recorder`` while the block runs.

    Args:
        recorder: Has ``enter(name)`` and ``exit(name)``, called on
            entering and leaving each stage marked by
            :func:`inference_stage` or :func:`mark_module_stage`.

    Raises:
        RuntimeError: If another recorder is already active.
    """
    global _recorder
    if _recorder is not None:
        raise RuntimeError('record_inference_stages: another recorder is '
                           'already active')
    _recorder = recorder
    try:
        yield
    finally:
        _recorder = None


def _enter_hook(module: nn.Module, *_) -> None:
    if _recorder is not None:
        module._inference_stage_open = True
        _recorder.enter(module._inference_stage)


def _exit_hook(module: nn.Module, *_) -> None:
    # closes only what _enter_hook opened (a recorder may start mid-call)
    if module.__dict__.pop('_inference_stage_open',
                           False) and _recorder is not None:
        _recorder.exit(module._inference_stage)


def mark_module_stage(module: nn.Module, name: str) -> None:
    """Mark every call of ``module`` as stage ``name``, by forward hooks;
    for modules whose caller cannot be marked (e.g. inside mmdet's
    ``predict``). Marking a module again only renames its stage.

    Args:
        module (nn.Module): The module.
        name (str): Stage name.
    """
    if '_inference_stage' not in module.__dict__:
        module.register_forward_pre_hook(_enter_hook)
        module.register_forward_hook(_exit_hook, always_call=True)
    module.__dict__['_inference_stage'] = name
