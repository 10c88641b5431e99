"""Strip a training checkpoint down to what is needed to use the model.

Example::

    python tools/model_converters/publish_model.py \
        work_dirs/stc_r18_fpn_1xb4-8e_synthetic/epoch_8.pth \
        checkpoints/stc_r18_fpn_1xb4-8e_synthetic.pth
    # -> checkpoints/stc_r18_fpn_1xb4-8e_synthetic-1a2b3c4d.pth

Like MMDetection's ``tools/model_converters/publish_model.py``, the output
keeps only ``state_dict`` (the weights) and ``meta`` (epoch, iteration,
config text, seed, dataset classes, versions); everything else the Runner
saves for resuming (``optimizer``, ``param_schedulers``, ``message_hub``,
...) is dropped, and the file is named ``<stem>-<sha256[:8]>.pth`` after
the SHA-256 of its own bytes, the name OpenMMLab model zoos use.

Differences from MMDetection's tool: the input is read with
``torch.load(..., weights_only=True)`` (a checkpoint cannot run code while
it is read; importing ``mmvis_clip`` allow-lists the plain-data types an
mmengine checkpoint holds), the hash is computed in Python rather than by
``sha256sum``, and the file is written atomically, so an interrupted run
leaves nothing behind. ``torch.save`` output depends only on the content,
so publishing the same checkpoint again gives the same name.
"""
import argparse
import hashlib
import io
import os.path as osp
import pickle
from typing import List, Optional, Sequence

import torch

import mmvis_clip  # noqa: F401 (allow-lists mmengine checkpoint types)
from mmvis_clip.utils.atomic_io import write_bytes_atomic

DEFAULT_SAVE_KEYS = ('meta', 'state_dict')


def _load_error_reason(err: Exception) -> str:
    """The informative line of an error raised by ``torch.load``.

    A weights-only refusal is a long text whose useful line names the
    refused object (``... GLOBAL posix.system ...``).
    """
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if isinstance(err, pickle.UnpicklingError) and len(lines) > 1:
        lines = lines[1:]  # past "Weights only load failed. In PyTorch..."
        for line in lines:
            if any(word in line
                   for word in ('GLOBAL', 'allowlist', 'Unsupported')):
                return line
    detail = lines[0] if lines else 'empty or truncated file'
    return f'{type(err).__name__}: {detail}'


def load_checkpoint_weights_only(path: str) -> dict:
    """Read an mmengine checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a PyTorch checkpoint, is refused by the
            weights-only unpickler, or has no ``state_dict`` dict.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such checkpoint file')
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except OSError:
        raise
    except Exception as err:  # torch raises many types for non-checkpoints
        reason = _load_error_reason(err)
        if any(word in reason for word in ('GLOBAL', 'allowlist')):
            raise ValueError(
                f'{path}: refused by torch.load(weights_only=True), it '
                f'holds objects other than tensors and plain data '
                f'({reason})') from None
        raise ValueError(f'{path}: not a PyTorch checkpoint '
                         f'({reason})') from None
    if not isinstance(checkpoint, dict) or not isinstance(
            checkpoint.get('state_dict'), dict):
        found = (f'keys {sorted(map(str, checkpoint))}' if isinstance(
            checkpoint, dict) else f'a {type(checkpoint).__name__}')
        raise ValueError(
            f'{path}: not an mmengine checkpoint, expected a dict with a '
            f'"state_dict" dict but found {found}')
    return checkpoint


def published_path(out_file: str, data: bytes) -> str:
    """``<folder of out_file>/<stem>-<sha256(data)[:8]>.pth``."""
    sha = hashlib.sha256(data).hexdigest()
    return f'{out_file[:-len(".pth")]}-{sha[:8]}.pth'


def publish_checkpoint(in_file: str,
                       out_file: str,
                       save_keys: Sequence[str] = DEFAULT_SAVE_KEYS,
                       verbose: bool = True) -> str:
    """Write the published version of ``in_file``.

    Args:
        in_file (str): A checkpoint written by mmengine (e.g. a Runner's
            ``epoch_8.pth``).
        out_file (str): Output path ending in ``.pth``; the file written is
            ``<out_file without .pth>-<sha256[:8]>.pth``.
        save_keys (Sequence[str]): Top-level keys to keep; must include
            ``state_dict``. Keys absent from the input are skipped.
        verbose (bool): Print the kept and removed keys.

    Returns:
        str: The path of the written file.

    Raises:
        FileNotFoundError: ``in_file`` does not exist.
        ValueError: ``out_file`` does not end in ``.pth``, ``save_keys``
            lacks ``state_dict``, or ``in_file`` is not a loadable mmengine
            checkpoint.
    """
    if not out_file.endswith('.pth'):
        raise ValueError(f'{out_file}: the output name must end in .pth '
                         '(the hash is inserted before it)')
    if 'state_dict' not in save_keys:
        raise ValueError(f'save_keys {list(save_keys)} must include '
                         '"state_dict"')
    checkpoint = load_checkpoint_weights_only(in_file)
    kept = [key for key in checkpoint if key in save_keys]
    removed = [key for key in checkpoint if key not in save_keys]
    published = {key: checkpoint[key] for key in kept}
    buffer = io.BytesIO()
    torch.save(published, buffer)
    data = buffer.getvalue()
    final_path = published_path(out_file, data)
    write_bytes_atomic(data, final_path)
    if verbose:
        print(f'kept: {", ".join(map(str, kept))}; removed: '
              f'{", ".join(map(str, removed)) or "nothing"}')
    return final_path


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Make a checkpoint ready for release: keep only the '
        'weights ("state_dict") and "meta", drop the training state '
        '(optimizer, param schedulers, message hub, ...), and save it as '
        'OUT_STEM-<first 8 hex digits of its SHA-256>.pth. The input is '
        'read with torch.load(weights_only=True).')
    parser.add_argument('in_file', help='input checkpoint (.pth)')
    parser.add_argument(
        'out_file',
        help='output name ending in .pth; the hash is inserted before '
        '.pth and the final path is printed')
    parser.add_argument(
        '--save-keys',
        nargs='+',
        default=list(DEFAULT_SAVE_KEYS),
        help='top-level checkpoint keys to keep (default: meta '
        'state_dict)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    try:
        final_path = publish_checkpoint(args.in_file, args.out_file,
                                        args.save_keys)
    except (OSError, ValueError) as err:
        raise SystemExit(f'error: {err}') from err
    print(final_path)
    return final_path


if __name__ == '__main__':
    main()
