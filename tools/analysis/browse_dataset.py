"""Render a VIS dataset's ground truth as the model sees it.

Usage:
    python tools/analysis/browse_dataset.py CONFIG [--output-dir DIR]
        [--max-videos N] [--phase train|val|test] [--seed S]
        [--cfg-options k=v ...]

Samples go through the phase's pipeline (resize, flip, frame sampling, ...)
and their ground truth (masks, boxes, class names, instance ids as track
ids, one colour per id) is drawn on the transformed frames, one mp4 per
video: ``DIR/<video name>.mp4``.

- ``train``: one sample per frame of the video, that frame being the key
  frame; each output frame shows the sample's frames side by side in
  frame order (key and reference frames, or the clip), labelled. The video
  has as many frames as the training set uses from that video (frames
  without annotations are skipped by the dataset).
- ``val`` / ``test``: the whole video is one sample; each output frame is
  one frame of it. Ground truth loaded at the original size is scaled to
  the resized frame.

Frames of different sizes (random resize) are padded to the first output
frame's size (shrunk to fit if larger).

A user's mistake (a missing config or annotation file, a frame that
cannot be read, an annotation the pipeline cannot decode) ends in one
``error: ...`` line naming the file or the video, exit status 1.
"""
import argparse
import math
import os.path as osp
import random
import sys

import cv2
import numpy as np
import torch
from mmdet.registry import DATASETS
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from tqdm import tqdm

from mmvis_clip.engine.clip_length import apply_clip_length
from mmvis_clip.engine.config_checks import load_config, merge_cfg_options
from mmvis_clip.utils.user_errors import (USER_ERRORS, UserError,
                                          exit_on_user_error, one_line)
from mmvis_clip.visualization import AtomicVideoWriter, VideoRenderer
from mmvis_clip.visualization.video_render_hook import video_name

CAPTION_HEIGHT = 14


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--output-dir', default='work_dirs/browse_dataset',
                        help='output folder (default work_dirs/'
                        'browse_dataset)')
    parser.add_argument('--max-videos', type=int, default=5,
                        help='videos to render (default 5)')
    parser.add_argument('--phase', choices=['train', 'val', 'test'],
                        default='train', help='which dataloader (default '
                        'train)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random transforms (default 0)')
    parser.add_argument('--fps', type=float, default=5.0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    args = parser.parse_args(argv)
    if args.max_videos < 1:
        parser.error('--max-videos must be >= 1')
    if not (math.isfinite(args.fps) and args.fps > 0):
        parser.error(f'--fps must be > 0, got {args.fps}')
    return args


def gt_instances_of(frame_sample, image_shape) -> InstanceData:
    """Ground truth of a frame with ``instances_id``.

    Test pipelines load the annotations after ``Resize`` (ground truth at
    the original size, for evaluation); masks of another size than the
    image are then resized to it and boxes scaled alike.
    """
    gt = frame_sample.gt_instances
    if 'instances_ids' not in gt:
        raise KeyError(f'{frame_sample.img_path}: ground truth has no '
                       'instances_ids (is LoadTrackAnnotations in the '
                       'pipeline?)')
    bboxes = gt.bboxes
    bboxes = bboxes.tensor if hasattr(bboxes, 'tensor') else bboxes
    out = InstanceData(
        bboxes=torch.as_tensor(bboxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.as_tensor(gt.labels).long(),
        instances_id=torch.as_tensor(gt.instances_ids).long())
    if 'masks' in gt:
        height, width = image_shape
        masks = gt.masks
        if (masks.height, masks.width) != (height, width):
            out.bboxes = out.bboxes * out.bboxes.new_tensor([
                width / masks.width, height / masks.height,
                width / masks.width, height / masks.height
            ])
            masks = masks.resize((height, width))
        out.masks = masks.to_ndarray().astype(bool)
    return out


def caption(panel: np.ndarray, text: str, key: bool) -> np.ndarray:
    """``panel`` with a caption bar on top (yellow text for key frames)."""
    bar = np.zeros((CAPTION_HEIGHT, panel.shape[1], 3), dtype=np.uint8)
    color = (0, 255, 255) if key else (255, 255, 255)
    cv2.putText(bar, text, (2, CAPTION_HEIGHT - 4), cv2.FONT_HERSHEY_SIMPLEX,
                0.35, color, 1, cv2.LINE_AA)
    return np.concatenate([bar, panel], axis=0)


def fit(image: np.ndarray, size) -> np.ndarray:
    """Pad ``image`` to ``size`` (H, W) at the top left, shrinking it first
    (keeping its aspect ratio) when it is larger."""
    height, width = size
    scale = min(1.0, height / image.shape[0], width / image.shape[1])
    if scale < 1.0:
        image = cv2.resize(image, (max(1, int(image.shape[1] * scale)),
                                   max(1, int(image.shape[0] * scale))))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[:image.shape[0], :image.shape[1]] = image
    return canvas


def draw_frames(item, renderer: VideoRenderer) -> list:
    """Drawn (H, W, 3) BGR panels of a sample's frames in frame order, with
    their captions."""
    inputs = item['inputs']
    track_sample = item['data_samples']
    key_inds = set(track_sample.metainfo.get('key_frames_inds', []) or [])
    frames = track_sample.video_data_samples
    order = sorted(range(len(frames)),
                   key=lambda i: frames[i].metainfo.get('frame_id', i))
    panels = []
    for i in order:
        image = np.ascontiguousarray(inputs[i].permute(1, 2, 0).numpy())
        gt = gt_instances_of(frames[i], image.shape[:2])
        drawn = renderer.draw(image, gt)
        frame_id = frames[i].metainfo.get('frame_id', i)
        role = ('key ' if i in key_inds else 'ref ') if key_inds else ''
        panels.append(caption(drawn, f'{role}frame {frame_id}', i in
                              key_inds))
    return panels


def side_by_side(panels: list) -> np.ndarray:
    height = max(p.shape[0] for p in panels)
    return np.concatenate([fit(p, (height, p.shape[1])) for p in panels],
                          axis=1)


def _samples(items, name: str, dataset, phase: str):
    """The samples of ``items``; a failure of the pipeline on the data
    (e.g. a mask that does not fit its frame) names the video and the
    annotation file."""
    ann_file = getattr(dataset, 'ann_file', '')
    iterator = iter(items)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except USER_ERRORS:
            raise
        except Exception as err:  # the pipeline decodes user data
            raise UserError(
                f'video {name} of {ann_file}: the {phase} pipeline failed '
                f'on it ({type(err).__name__}: {one_line(err)})') from None
        if item is None:
            raise UserError(f'video {name} of {ann_file}: the {phase} '
                            'pipeline returned no sample')
        yield item


def render_video(dataset, video_idx: int, phase: str, out_dir: str,
                 renderer: VideoRenderer, fps: float) -> tuple:
    """Render one video; returns (path, number of frames written)."""
    info = dataset.get_data_info(video_idx)
    if phase == 'train':
        items = (dataset.prepare_data((video_idx, f))
                 for f in range(info['video_length']))
    else:
        items = (dataset.prepare_data(video_idx) for _ in range(1))
    name = video_name(info['images'][0]['img_path'])
    out_file = osp.join(out_dir, f'{name}.mp4')
    canvas = None
    with AtomicVideoWriter(out_file, fps=fps) as writer:
        for item in _samples(items, name, dataset, phase):
            panels = draw_frames(item, renderer)
            images = [side_by_side(panels)] if phase == 'train' else panels
            for image in images:
                if canvas is None:
                    canvas = image.shape[:2]
                writer.write(fit(image, canvas))
        num = writer.num_frames
    return out_file, num


def build_dataset(dataset_cfg, config: str, phase: str):
    """Build the phase's dataset; a failure (e.g. a malformed annotation
    file) names the annotation file."""
    ann_file = osp.join(dataset_cfg.get('data_root', '') or '',
                        dataset_cfg.get('ann_file', '') or '')
    try:
        return DATASETS.build(dataset_cfg)
    except USER_ERRORS:
        raise
    except Exception as err:  # mmengine/mmdet parse the user's files
        raise UserError(
            f'the {phase} dataset of config {config} (ann_file {ann_file}) '
            f'cannot be built: {type(err).__name__}: {one_line(err)}') \
            from None


def main(argv=None) -> list:
    args = parse_args(argv)
    with exit_on_user_error():
        return run(args)


def run(args) -> list:
    """Render the videos (user errors raise, see :func:`main`); returns
    ``(path, number of frames)`` per video."""
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        merge_cfg_options(cfg, args.cfg_options)
    apply_clip_length(cfg)  # a CiCo config's clips: model.num_frames
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    loader_cfg = cfg.get(f'{args.phase}_dataloader', None)
    if loader_cfg is None:
        raise UserError(
            f'config {args.config} has no {args.phase}_dataloader')
    dataset = build_dataset(loader_cfg.dataset, args.config, args.phase)
    renderer = VideoRenderer(classes=dataset.metainfo.get('classes'))
    if len(dataset) == 0:
        raise UserError(f'{getattr(dataset, "ann_file", args.config)}: the '
                        f'{args.phase} dataset has no video')
    num_videos = min(args.max_videos, len(dataset))
    written = []
    for video_idx in tqdm(range(num_videos), unit='video', file=sys.stderr):
        written.append(
            render_video(dataset, video_idx, args.phase, args.output_dir,
                         renderer, args.fps))
    for path, num in written:
        print(f'{path}: {num} frames')
    print(f'{num_videos} of the {len(dataset)} videos of the {args.phase} '
          'dataset rendered')
    return written


if __name__ == '__main__':
    main()
