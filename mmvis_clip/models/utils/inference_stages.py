"""Named stages of inference, marked by the code that runs them::

    with inference_stage('backbone'):          # in a model
        x = self.backbone(img)
    with record_inference_stages(recorder):    # in a profiler
        segmenter.push(frame)                  # recorder.enter / .exit

Stages nest. Names used: ``'pre-processing'``, ``'backbone'``, ``'neck'``,
``'heads'``, ``'mask'``, ``'tracking'``, ``'model'`` (``step`` / ``flush``).
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
    """Context manager marking the code it wraps as stage ``name``; does
    nothing without an active recorder."""
    recorder = _recorder
    return _NO_STAGE if recorder is None else _Stage(recorder, name)


def active_recorder() -> Optional[object]:
    """The active recorder, or None."""
    return _recorder


@contextmanager
def record_inference_stages(recorder) -> Iterator[None]:
    """Report every marked stage to ``recorder`` while the block runs.

    Args:
        recorder: Has ``enter(name)`` and ``exit(name)``.

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
    """Mark every call of ``module`` as stage ``name`` (forward hooks);
    marking it again renames the stage."""
    if '_inference_stage' not in module.__dict__:
        module.register_forward_pre_hook(_enter_hook)
        module.register_forward_hook(_exit_hook, always_call=True)
    module.__dict__['_inference_stage'] = name
