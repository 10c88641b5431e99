"""Checkpoints that are never half-written (temporary, flush, rename; then
``last_checkpoint``; the outdated checkpoint deleted last), and
``--resume`` that says what it resumes from (:func:`configure_resume`).
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

import torch
from mmdet.registry import HOOKS
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from ..utils.atomic_io import write_file_atomic
from ..utils.checkpoint_loading import CheckpointError, check_checkpoint_file
from ..utils.user_errors import UserError, one_line

#: Name of mmengine's pointer to the latest checkpoint of a work directory.
POINTER = 'last_checkpoint'
#: A temporary of :func:`write_file_atomic` (``tempfile.mkstemp``).
_TEMPORARY = re.compile(r'\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp')


def _fsync_folder(folder: str) -> None:
    """Flush a folder's entries (a rename) to disk where the OS allows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_durable(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` atomically and flush it to disk before
    the rename (so that neither a kill nor a power cut leaves a partial
    file under ``path``).

    Args:
        data (bytes): The file content.
        path (str): Destination file path; parent folders are created.
    """

    def write(tmp_path: str) -> None:
        with open(tmp_path, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    write_file_atomic(path, write)
    _fsync_folder(osp.dirname(osp.abspath(path)))


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put`` never leaves a partial
    file under the destination name (see :func:`write_bytes_durable`).

    Registered under the name ``atomic_local`` only (no path prefix), so
    it is used where ``backend_args=dict(backend='atomic_local')`` asks
    for it.
    """

    def put(self, obj: bytes, filepath) -> None:
        write_bytes_durable(obj, os.fspath(filepath))


def remove_stale_temporaries(folder: str) -> List[str]:
    """Delete the temporaries of checkpoints (``*.pth``) and of the
    ``last_checkpoint`` pointer that a killed save left in ``folder``.

    Returns:
        list[str]: The deleted files, sorted.
    """
    if not osp.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        match = _TEMPORARY.fullmatch(name)
        path = osp.join(folder, name)
        if match and (match['name'].endswith('.pth')
                      or match['name'] == POINTER) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


def _is_local(path: str) -> bool:
    return '://' not in path


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` whose saves cannot leave a partial
    file: checkpoints and ``last_checkpoint`` are written to a temporary
    and renamed, the pointer after its checkpoint, and an outdated
    checkpoint is deleted only after both (see the module documentation).

    For a local ``out_dir`` without ``backend_args`` / ``file_client_args``
    the checkpoints go through :class:`AtomicLocalBackend` (best
    checkpoints too); other storage backends are used as given. Arguments
    are those of ``CheckpointHook``. The default checkpoint hook of this
    package's configs (``configs/_base_/default_runtime.py``).
    """

    def before_train(self, runner) -> None:
        """Choose the atomic backend and delete the temporaries of a
        killed save."""
        out_dir = self.out_dir if self.out_dir is not None \
            else runner.work_dir
        self._atomic = _is_local(out_dir) and self.backend_args is None \
            and self.file_client_args is None
        if self._atomic:
            self.backend_args = dict(backend='atomic_local')
        super().before_train(runner)
        if not (self._atomic and is_main_process()):
            return
        for folder in dict.fromkeys([self.out_dir, runner.work_dir]):
            for path in remove_stale_temporaries(folder):
                runner.logger.warning(
                    f'Removed {path}: the partial file of a save that was '
                    'interrupted.')

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """mmengine's, with the pointer written atomically after the
        checkpoint and the outdated checkpoint deleted last."""
        if not getattr(self, '_atomic', False):
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = None
        if self.max_keep_ckpts > 0 and not (len(self.keep_ckpt_ids) > 0 and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        write_bytes_durable(self.last_ckpt.encode('utf-8'),
                            osp.join(runner.work_dir, POINTER))
        if outdated is not None:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                # checkpoints saved by deepspeed are directories
                self.file_backend.rmtree(path)


def read_training_meta(path: str) -> Tuple[int, int]:
    """The epoch and iteration a Runner checkpoint was saved at.

    Args:
        path (str): Checkpoint file.

    Returns:
        tuple[int, int]: ``meta['epoch']``, ``meta['iter']``.

    Raises:
        UserError: ``path`` is missing, a folder, unreadable, or has no
            integer ``meta.epoch`` / ``meta.iter``; naming ``path``.
    """
    try:
        check_checkpoint_file(path)
        # memory-mapped: only the pickled structure is read
        checkpoint = torch.load(
            path, map_location='cpu', mmap=zipfile.is_zipfile(path),
            weights_only=True)
    except UserError:
        raise
    except FileNotFoundError as err:
        raise UserError(str(err)) from None
    except Exception as err:  # torch.load: EOFError, UnpicklingError, ...
        first = one_line(err).split(' | ')[0]
        raise CheckpointError(
            f'checkpoint {path} cannot be read ({type(err).__name__}: '
            f'{first}); is it truncated, or not a checkpoint?') from None
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    missing = [
        key for key in ('epoch', 'iter')
        if not isinstance(meta, dict) or not isinstance(meta.get(key), int)
    ]
    if missing:
        raise CheckpointError(
            f'checkpoint {path} has no '
            f'{" / ".join("meta." + k for k in missing)}: it is not a '
            'training checkpoint to resume from (a published or converted '
            'model?); to start from its weights, use --cfg-options '
            f'load_from={path}')
    return meta['epoch'], meta['iter']


def _checkpoint_folders(cfg: Config) -> List[str]:
    """The work directory and, when the checkpoint hook writes elsewhere
    locally, its folder."""
    folders = [cfg.work_dir]
    hook = cfg.get('default_hooks', {}).get('checkpoint') or {}
    out_dir = hook.get('out_dir') if isinstance(hook, dict) else None
    if out_dir and _is_local(out_dir):
        folders.append(
            osp.join(out_dir, osp.basename(cfg.work_dir.rstrip(os.sep))))
    return folders


def find_resume_checkpoint(work_dir: str,
                           folders: Optional[List[str]] = None
                           ) -> Tuple[Optional[str], Optional[str]]:
    """The checkpoint ``--resume`` (without a path) resumes from: the one
    ``last_checkpoint`` names if readable, else the readable ``*.pth`` of
    ``folders`` saved at the latest iteration.

    Args:
        work_dir (str): The run's work directory.
        folders (list[str], optional): Where checkpoints are looked for.
            Defaults to ``[work_dir]``.

    Returns:
        tuple[str | None, str | None]: The checkpoint (None when there is
        none: train from the start) and, when it is not the pointer's, a
        sentence saying why it was chosen and what was skipped.

    Raises:
        UserError: Checkpoints (or a pointer) are there but none is
            readable; names them and why.
    """
    folders = folders or [work_dir]
    pointer = osp.join(work_dir, POINTER)
    why = f'{work_dir} has no {POINTER}'
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8') as f:
            target = f.read().strip()
        try:
            if not target:
                raise UserError(f'{pointer} is empty')
            read_training_meta(target)
            return target, None
        except UserError as err:
            why = f'{POINTER} is unusable ({err})'
    readable, unreadable = [], []
    for folder in folders:
        if not osp.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = osp.join(folder, name)
            if name.startswith('.') or not name.endswith('.pth') or \
                    not osp.isfile(path):
                continue
            try:
                epoch, iteration = read_training_meta(path)
            except UserError as err:
                unreadable.append(str(err))
                continue
            readable.append((iteration, epoch, osp.getmtime(path), path))
    if not readable:
        if unreadable:
            raise UserError(
                f'--resume: {why} and none of its checkpoints can be '
                f'resumed from: {"; ".join(unreadable)}. Give one with '
                '--resume PATH, or remove them to train from the start.')
        if why.startswith(POINTER):
            raise UserError(
                f'--resume: {why}, and there is no other checkpoint in '
                f'{", ".join(folders)}. Give one with --resume PATH, or '
                f'remove {pointer} to train from the start.')
        return None, None
    iteration, epoch, _, path = max(readable)
    note = (f'--resume: {why}; resuming from the newest readable checkpoint '
            f'{path} (epoch {epoch}, iteration {iteration})')
    if unreadable:
        note += f'; skipped: {"; ".join(unreadable)}'
    return path, note


def configure_resume(cfg: Config, resume: Optional[str]) -> None:
    """Apply ``tools/train.py --resume [CKPT]`` to ``cfg`` (without CKPT:
    :func:`find_resume_checkpoint`, or from the start if there is none).

    Args:
        cfg (Config): The run's config (``work_dir`` set).
        resume (str, optional): ``--resume``'s value: None (not given),
            ``'auto'`` (given without a path) or the checkpoint path.

    Raises:
        UserError: See :func:`read_training_meta` and
            :func:`find_resume_checkpoint`.
    """
    if resume is None:
        return
    if resume != 'auto':
        if _is_local(resume):
            read_training_meta(resume)
        cfg.resume, cfg.load_from = True, resume
        return
    path, note = find_resume_checkpoint(cfg.work_dir,
                                        _checkpoint_folders(cfg))
    if path is None:
        print_log(
            f'--resume: no checkpoint in {cfg.work_dir}; training from the '
            'start.',
            logger='current')
        cfg.resume = False
        return
    if note is not None:
        print_log(note, logger='current', level=logging.WARNING)
    cfg.resume, cfg.load_from = True, path
