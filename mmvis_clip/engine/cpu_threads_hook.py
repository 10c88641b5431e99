"""Keep a CPU run's thread count at the cores other processes leave free
while the load changes (see :mod:`mmvis_clip.utils.cpu_threads`)."""
from typing import Optional

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ..utils.cpu_threads import (applied_cpu_threads, describe_cpu_threads,
                                 free_threads, physical_cores, usable_cpus)
from ..utils.machine_load import busy_cores, sample_cpu_ticks


@HOOKS.register_module()
class CPUThreadsHook(Hook):
    """Log the CPU thread count when a run starts and, in a CPU run whose
    count was chosen from the load at start-up, re-size it to the free
    cores every ``interval`` iterations (training, validation and test
    iterations together).

    The other processes' CPU use is the difference of two ``/proc/stat``
    readings, less this process and its children (e.g. dataloader
    workers), so measuring costs no waiting. A line is logged when the
    count changes. Nothing is changed when the model is on another device
    than the CPU, when the user set the count (``OMP_NUM_THREADS``,
    ``MKL_NUM_THREADS``), when torch was imported before ``mmvis_clip``, or
    after anything else has called ``torch.set_num_threads``.

    Args:
        interval (int): Iterations between two samples. Defaults to 20.
    """
    priority = 'VERY_LOW'

    def __init__(self, interval: int = 20) -> None:
        assert isinstance(interval, int) and interval > 0, interval
        self.interval = interval
        self._active = False
        self._iters = 0
        self._cpus = []
        self._cores = 1
        self._threads = 1
        self._last: Optional[tuple] = None

    def before_run(self, runner) -> None:
        choice = applied_cpu_threads()
        line = describe_cpu_threads(choice)
        if choice is None or choice.threads is None:
            line += f' ({torch.get_num_threads()} threads)'
        param = next(runner.model.parameters(), None)
        device = 'cpu' if param is None else param.device.type
        runner.logger.info(line)
        self._active = (
            device == 'cpu' and choice is not None and choice.automatic
            and torch.get_num_threads() == choice.threads)
        if self._active:
            self._cpus = usable_cpus()
            self._cores = physical_cores(self._cpus)
            self._threads = choice.threads
            self._iters = 0
            self._last = sample_cpu_ticks(self._cpus)

    def _resize(self, runner) -> None:
        if not self._active:
            return
        self._iters += 1
        if self._iters % self.interval:
            return
        if torch.get_num_threads() != self._threads:
            self._active = False
            runner.logger.info(
                f'CPU threads: set to {torch.get_num_threads()} elsewhere; '
                'no longer sized to the free cores')
            return
        now = sample_cpu_ticks(self._cpus)
        busy = busy_cores(self._last, now, len(self._cpus))
        self._last = now
        threads = free_threads(busy, len(self._cpus), self._cores)
        if threads != self._threads:
            runner.logger.info(
                f'CPU threads: {self._threads} -> {threads} of '
                f'{len(self._cpus)} CPUs ({busy:.1f} kept busy by other '
                f'processes over the last {self.interval} iterations)')
            torch.set_num_threads(threads)
            self._threads = threads

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self._resize(runner)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._resize(runner)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._resize(runner)
