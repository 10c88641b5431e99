"""Load ``load_from`` / ``tools/test.py``'s checkpoint strictly."""
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ..utils.checkpoint_loading import load_checkpoint_checked, read_checkpoint


@HOOKS.register_module()
class CheckpointLoadHook(Hook):
    """Load a checkpoint into the runner's model before it trains or tests,
    refusing one whose keys or shapes differ from the model's
    (:func:`~mmvis_clip.utils.checkpoint_loading.load_checkpoint_checked`).

    The tools put it in place of mmengine's ``load_from``, which loads what
    matches and only warns about the rest. It loads at the start of
    training (after the model's weights are initialised, as ``load_from``
    does), validation or testing, once; like the Runner it calls the
    ``after_load_checkpoint`` hooks with the checkpoint first. A run that
    resumed (the Runner loaded its own checkpoint) keeps the resumed
    weights.

    Args:
        checkpoint (str): Checkpoint path, URL or mmengine scheme.
        partial (bool): Load what fits of any checkpoint and log a table
            of the loaded / skipped tensors. Defaults to False.
        converted (bool): Accept, with the table, the partial result of a
            checkpoint the model converts from another layout (e.g. an
            mmdet COCO detector as initialisation). Defaults to False.
        map_location (str, optional): As for ``torch.load``. Defaults to
            ``'cpu'``.
    """

    priority = 'HIGHEST'

    def __init__(self,
                 checkpoint: str,
                 partial: bool = False,
                 converted: bool = False,
                 map_location: Optional[str] = 'cpu') -> None:
        self.checkpoint = checkpoint
        self.partial = partial
        self.converted = converted
        self.map_location = map_location
        self._loaded = False

    def _load(self, runner) -> None:
        if self._loaded:
            return
        self._loaded = True
        if runner._has_loaded:  # resumed (mmengine's load_or_resume)
            runner.logger.info(f'{self.checkpoint} not loaded: the run '
                               'resumed from a checkpoint of its own')
            return
        checkpoint = read_checkpoint(self.checkpoint, self.map_location)
        runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        config = getattr(runner.cfg, 'filename', None)
        load_checkpoint_checked(
            runner.model,
            self.checkpoint,
            checkpoint=checkpoint,
            allow_partial=self.partial,
            allow_converted=self.converted,
            what=f'the model of {config}' if config else 'the model')
        runner.logger.info(f'Load checkpoint from {self.checkpoint}')

    def before_train(self, runner) -> None:
        self._load(runner)

    def before_val(self, runner) -> None:
        self._load(runner)

    def before_test(self, runner) -> None:
        self._load(runner)
