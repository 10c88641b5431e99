"""Test-only hook: the training process kills itself with SIGKILL.

Imported by the configs that ``tests/test_exact_resume.py`` writes
(``custom_imports``); it does nothing unless ``MMVIS_KILL_AT_ITER`` is set,
and then kills the process just before that (0-based, global) training
iteration, as a crash or ``kill -9`` would.
"""
import os
import signal

from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """SIGKILL the process before iteration ``$MMVIS_KILL_AT_ITER``."""

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        kill_at = os.environ.get('MMVIS_KILL_AT_ITER')
        if kill_at is not None and runner.iter == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)
