"""Generate a complete synthetic VIS dataset.

Output layout of :func:`make_synthetic_vis` (``out_dir``)::

    train/JPEGImages/<video>/<frame>.jpg
    valid/JPEGImages/<video>/<frame>.jpg
    annotations/train.json           raw YouTube-VIS json (2019 style)
    annotations/valid.json           raw, WITH annotations (local eval)
    annotations/train_cocovid.json   CocoVID json for mmdet datasets
    annotations/valid_cocovid.json

Video ``i`` of a split is drawn from a generator seeded with ``(seed,
split, i)``: the same seed gives byte-identical files with the same OpenCV
build. Ids start at 1 in each split; a preset other than ``'default'`` is
recorded in ``info``.
"""
import argparse
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from ...utils.atomic_io import dump_json_atomic
from ...utils.user_errors import UserError, exit_on_user_error
from ..converters.vis2cocovid import convert_vis_to_cocovid
from .classes import synthetic_vis_categories
from .scene import MIN_VISIBLE_AREA, SCENE_PRESETS, sample_rendered_video
from .writer import JPEG_QUALITY, raw_track_annotation, write_video_frames

SYNTHETIC_SPLITS = ('train', 'valid')
DEFAULT_NUM_VIDEOS = 40
DEFAULT_NUM_FRAMES = SCENE_PRESETS['default'].num_frames
DEFAULT_SIZE = (128, 224)  # (height, width)
# Smallest frame side: below it the smallest objects (radius 9% of the
# side) have fewer than MIN_VISIBLE_AREA pixels and would always be absent.
MIN_SIDE = 48
_OUTPUT_SUBDIRS = ('train', 'valid', 'annotations')


def num_valid_videos(num_train_videos: int) -> int:
    """Number of valid videos for ``num_train_videos`` train videos."""
    return max(2, num_train_videos // 4)


def video_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of video ``index`` of ``split``."""
    return np.random.default_rng(
        np.random.SeedSequence([seed,
                                SYNTHETIC_SPLITS.index(split), index]))


def _prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise FileExistsError(
                f'{out_dir} exists and is not empty; choose another folder '
                f'or pass overwrite=True (--overwrite) to replace its '
                f'{", ".join(_OUTPUT_SUBDIRS)} sub-folders')
        for name in _OUTPUT_SUBDIRS:
            path = osp.join(out_dir, name)
            if osp.isdir(path):
                shutil.rmtree(path)
            elif osp.exists(path):
                os.remove(path)
    elif osp.exists(out_dir) and not osp.isdir(out_dir):
        raise FileExistsError(f'{out_dir} exists and is not a folder')
    os.makedirs(out_dir, exist_ok=True)


def generate_split(out_dir: str,
                   split: str,
                   num_videos: int,
                   num_frames: int,
                   size: Tuple[int, int],
                   seed: int,
                   show_progress: bool = True,
                   preset: str = 'default') -> dict:
    """Render and write the frames of one split; return its raw json."""
    image_root = osp.join(out_dir, split, 'JPEGImages')
    videos: List[dict] = []
    annotations: List[dict] = []
    for index in tqdm(
            range(num_videos),
            desc=f'synthetic {split}',
            unit='video',
            disable=not show_progress):
        video_id = index + 1
        scene, frames, masks = sample_rendered_video(
            video_rng(seed, split, index),
            num_frames,
            size,
            preset=SCENE_PRESETS[preset])
        file_names = write_video_frames(frames, image_root,
                                        f'video_{index:04d}')
        videos.append(
            dict(
                id=video_id,
                width=size[1],
                height=size[0],
                length=num_frames,
                file_names=file_names))
        for instance, track in zip(scene.instances, masks):
            annotations.append(
                raw_track_annotation(track, instance.category,
                                     len(annotations) + 1, video_id))
    info = dict(
        description='synthetic video instance segmentation',
        seed=seed,
        split=split,
        num_frames=num_frames,
        height=size[0],
        width=size[1],
        min_visible_area=MIN_VISIBLE_AREA,
        jpeg_quality=JPEG_QUALITY)
    if preset != 'default':
        info['preset'] = preset
    return dict(
        info=info,
        licenses=[],
        categories=synthetic_vis_categories(),
        videos=videos,
        annotations=annotations)


def make_synthetic_vis(out_dir: str,
                       num_videos: int = DEFAULT_NUM_VIDEOS,
                       num_frames: Optional[int] = None,
                       size: Tuple[int, int] = DEFAULT_SIZE,
                       seed: int = 0,
                       overwrite: bool = False,
                       show_progress: bool = True,
                       num_valid: Optional[int] = None,
                       preset: str = 'default') -> Dict[str, str]:
    """Generate the synthetic dataset.

    Args:
        out_dir (str): Output folder; must be absent or empty unless
            ``overwrite``.
        num_videos (int): Number of train videos (valid gets
            :func:`num_valid_videos`).
        num_frames (int, optional): Frames per video. Defaults to the
            preset's (12 for ``'default'``, 24 for ``'association'``).
        size (tuple[int, int]): Frame ``(height, width)``, each at least
            :data:`MIN_SIDE`.
        seed (int): Seed of all randomness.
        overwrite (bool): Replace the ``train``, ``valid`` and
            ``annotations`` sub-folders of a non-empty ``out_dir``; other
            content is left alone.
        show_progress (bool): Show tqdm bars.
        num_valid (int, optional): Number of valid videos. Defaults to
            :func:`num_valid_videos` of ``num_videos``.
        preset (str): A key of ``SCENE_PRESETS``. Defaults to
            ``'default'``.

    Returns:
        dict[str, str]: ``'{split}_raw'`` and ``'{split}_cocovid'`` -> json
        path for each split.
    """
    if preset not in SCENE_PRESETS:
        raise ValueError(f'unknown preset {preset!r}; choose one of '
                         f'{", ".join(SCENE_PRESETS)}')
    if num_frames is None:
        num_frames = SCENE_PRESETS[preset].num_frames
    if num_valid is None:
        num_valid = num_valid_videos(num_videos)
    if num_videos < 1 or num_frames < 1 or num_valid < 1:
        raise ValueError(f'num_videos ({num_videos}), num_valid '
                         f'({num_valid}) and num_frames ({num_frames}) must '
                         'be >= 1')
    if len(size) != 2 or min(size) < MIN_SIDE:
        raise ValueError(f'size must be (height, width), each >= '
                         f'{MIN_SIDE}, got {tuple(size)}')
    size = (int(size[0]), int(size[1]))
    _prepare_out_dir(out_dir, overwrite)
    paths = {}
    counts = dict(train=num_videos, valid=num_valid)
    for split in SYNTHETIC_SPLITS:
        raw = generate_split(out_dir, split, counts[split], num_frames, size,
                             seed, show_progress, preset)
        raw_path = osp.join(out_dir, 'annotations', f'{split}.json')
        cocovid_path = osp.join(out_dir, 'annotations',
                                f'{split}_cocovid.json')
        dump_json_atomic(raw, raw_path)
        dump_json_atomic(
            convert_vis_to_cocovid(raw, source=raw_path, show_progress=False),
            cocovid_path)
        paths[f'{split}_raw'] = raw_path
        paths[f'{split}_cocovid'] = cocovid_path
    return paths


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate a synthetic video instance segmentation '
        'dataset (moving, occluding, entering/leaving textured shapes) in '
        'the YouTube-VIS layout, with raw and CocoVID annotations.')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--num-videos',
        type=int,
        default=DEFAULT_NUM_VIDEOS,
        help='number of train videos; valid gets max(2, N // 4) unless '
        '--num-valid-videos is given')
    parser.add_argument(
        '--num-valid-videos',
        type=int,
        default=None,
        help='number of valid videos (the train split does not depend on '
        'it, and the first valid videos are the same for every value)')
    parser.add_argument(
        '--preset',
        choices=list(SCENE_PRESETS),
        default='default',
        help='scenes to draw: default; association (look-alikes '
        'crossing one another, more occluders, 24 frames: harder to '
        'track); or slow (the default scenes at a third of the speed)')
    parser.add_argument(
        '--frames',
        type=int,
        default=None,
        help='frames per video (default: the preset\'s, 12 for default)')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=list(DEFAULT_SIZE),
        metavar=('H', 'W'),
        help=f'frame height and width (each >= {MIN_SIDE})')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace train/, valid/ and annotations/ of a non-empty --out')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide progress bars')
    args = parser.parse_args(argv)
    # the flags' own names (make_synthetic_vis names its parameters)
    for flag, value, least in (('--num-videos', args.num_videos, 1),
                               ('--num-valid-videos', args.num_valid_videos,
                                1), ('--frames', args.frames, 1),
                               ('--seed', args.seed, 0)):
        if value is not None and value < least:
            parser.error(f'{flag} must be >= {least}, got {value}')
    if min(args.size) < MIN_SIDE:
        parser.error(f'--size H W: each must be >= {MIN_SIDE}, got '
                     f'{" ".join(map(str, args.size))}')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Command line entry point (``tools/misc/make_synthetic_vis.py``)."""
    args = parse_args(argv)
    with exit_on_user_error():  # a file error (e.g. a full disk): one line
        try:
            paths = make_synthetic_vis(args.out, args.num_videos,
                                       args.frames, tuple(args.size),
                                       args.seed, args.overwrite,
                                       not args.no_progress,
                                       args.num_valid_videos, args.preset)
        except FileExistsError as e:
            raise UserError(f'--out {e}') from None
    for name, path in paths.items():
        print(f'{name}: {path}')
