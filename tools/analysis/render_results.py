"""Draw a YouTube-VIS results file onto its video.

Usage:
    python tools/analysis/render_results.py FRAMES RESULTS --out OUT.mp4
        [--out-pngs DIR] [--ann-file ANN.json] [--video-id ID]
        [--score-thr S]

``FRAMES`` is the video: a folder of frames (natural order) or a video
file. ``RESULTS`` is a YouTube-VIS results file (``results.json`` or a
submission zip), from this package or any other codebase: only the
standard fields ``video_id``, ``category_id``, ``score`` and
``segmentations`` (per frame a compressed RLE with ``counts`` as str, an
uncompressed RLE with ``counts`` as a list, polygons, or null) are read.

Which video of ``RESULTS`` is drawn: ``--video-id``; else, with
``--ann-file`` (the dataset's YouTube-VIS json), the video whose frame
folder has the name of ``FRAMES``; else the only video of the file.
``--ann-file`` also gives the class names (``category <id>`` without it)
and is checked against the frames too.

Drawn: the results scoring at least ``--score-thr`` (their ``score``
field), each with its mask, box, class, score and instance id 1, 2, ...
in file order (the ids ``--out-masks`` of ``video_demo.py`` and
``tools/test.py`` write). ``--out`` writes an mp4 (lossy), ``--out-pngs
DIR`` one PNG per frame, named like the frames (exact pixels).

Results that are not of the given frames (another frame count or size),
an unknown video id, or a file that is not YouTube-VIS results end in one
``error: ...`` line naming the file and the video, exit status 1; nothing
is written then. Outputs are written atomically, never over an input.
"""
#: Runs no model: ``import mmvis_clip`` registers nothing, and torch and
#: mmdet (for drawing) load after the options are read (see
#: mmvis_clip/__init__.py).
__runs_no_model__ = True

import argparse
import math
import os.path as osp
import sys
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from mmvis_clip.structures import (VideoInfo, VideoInstance,
                                   decode_frame_masks, frame_stems,
                                   kept_results, parse_ground_truth,
                                   parse_video_results, read_results_list,
                                   results_video_ids)
from mmvis_clip.structures.vis_format import VISFormatError, load_json
from mmvis_clip.utils.atomic_io import (refuse_output_folder,
                                        refuse_overwriting_inputs,
                                        write_bytes_atomic)
from mmvis_clip.utils.user_errors import UserError, exit_on_user_error

if TYPE_CHECKING:
    from mmengine.structures import InstanceData

    from mmvis_clip.apis.frame_source import FrameSource


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw a YouTube-VIS results file onto its video')
    parser.add_argument('frames', help='folder of frames or video file')
    parser.add_argument(
        'results', help='YouTube-VIS results json (or submission zip)')
    parser.add_argument('--out', help='output video (.mp4)')
    parser.add_argument(
        '--out-pngs',
        help='output folder (new or empty) for one PNG per drawn frame')
    parser.add_argument(
        '--ann-file',
        help='YouTube-VIS json of the dataset: class names, and the video '
        'of FRAMES found by its folder name')
    parser.add_argument(
        '--video-id', type=int, help='video of RESULTS to draw')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='draw the results scoring at least this (default 0.3)')
    args = parser.parse_args(argv)
    if not args.out and not args.out_pngs:
        parser.error('nothing to write: give --out and/or --out-pngs')
    if args.out and osp.splitext(args.out)[1].lower() != '.mp4':
        parser.error(f'--out {args.out}: the output video must be .mp4')
    if not (math.isfinite(args.score_thr) and 0 <= args.score_thr <= 1):
        parser.error(f'--score-thr must be in [0, 1], got {args.score_thr}')
    return args


def check_outputs(args, source: 'FrameSource') -> None:
    """Refuse outputs that are, or are among, the inputs."""
    inputs = [('results file', args.results)]
    if args.ann_file:
        inputs.append(('annotation file', args.ann_file))
    folders = []
    if source.frame_files is not None:
        folders.append(('input frame folder', args.frames))
        inputs.append(('input frame folder', args.frames))
    else:
        inputs.append(('input video', args.frames))
    refuse_overwriting_inputs({'--out': args.out}, inputs, folders)
    if args.out_pngs:
        refuse_output_folder('--out-pngs', args.out_pngs, inputs,
                             {'--out': args.out})


def video_folder_name(file_names: List[str]) -> Optional[str]:
    """The frame folder of a dataset video (``file_names`` relative to the
    image root, ``<video>/<frame>``); None when its frames are not in one
    folder."""
    folders = {osp.basename(osp.dirname(name)) for name in file_names}
    return folders.pop() if len(folders) == 1 else None


def find_video_id(args, source: 'FrameSource', results: list, name: str,
                  ann: Optional[dict]) -> int:
    """The id of the video of ``RESULTS`` that ``FRAMES`` is (see the
    module docstring)."""
    present = results_video_ids(results, name)
    if args.video_id is not None:
        if ann is not None:
            known = [v.get('id') for v in ann['videos']]
            if args.video_id not in known:
                raise UserError(
                    f'{args.ann_file}: unknown video id {args.video_id} '
                    f'(--video-id); its videos have ids {sorted(known)[:8]}'
                    f'{" ..." if len(known) > 8 else ""}')
        elif args.video_id not in present:
            raise UserError(
                f'{name}: unknown video id {args.video_id} (--video-id); '
                f'the file holds results of video ids {present[:8]}'
                f'{" ..." if len(present) > 8 else ""}')
        return args.video_id
    if ann is not None:
        matches = [
            v['id'] for v in ann['videos']
            if isinstance(v.get('file_names'), list)
            and video_folder_name(v['file_names']) == source.name
        ]
        if len(matches) != 1:
            raise UserError(
                f'{args.ann_file}: {len(matches)} videos have frames in a '
                f'folder named {source.name!r} (the name of {args.frames}); '
                'give --video-id')
        return matches[0]
    if len(present) != 1:
        what = 'no result' if not present else \
            f'results of {len(present)} videos (ids {present[:8]})'
        raise UserError(
            f'{name}: the file holds {what}; give --video-id (or '
            f'--ann-file to find the video of {args.frames} by name)')
    return present[0]


def count_frames(source: 'FrameSource') -> Tuple[int, Tuple[int, int]]:
    """The number of frames and the (H, W) size of ``source`` (a video
    file is decoded once for an exact count)."""
    size, num = None, 0
    frames = iter(source)
    for frame in frames:
        if size is None:
            size = frame.shape[:2]
            if source.frame_files is not None:
                frames.close()
                return len(source.frame_files), size
        num += 1
    return num, size


def check_results_fit(results: list, name: str, video_id: int,
                      frames: str, num_frames: int,
                      size: Tuple[int, int]) -> None:
    """Refuse results of ``video_id`` whose frame count or mask size is not
    that of the frames."""
    for i, result in enumerate(results):
        if not isinstance(result, dict) or \
                result.get('video_id') != video_id:
            continue
        segmentations = result.get('segmentations')
        if not isinstance(segmentations, list):
            continue  # the parser names it
        where = f'{name}: result {i} (video {video_id})'
        if len(segmentations) != num_frames:
            raise UserError(
                f'{where} has {len(segmentations)} frames (segmentations) '
                f'but {frames} has {num_frames}: the results are not of '
                'this video')
        for frame_id, seg in enumerate(segmentations):
            rle_size = seg.get('size') if isinstance(seg, dict) else None
            if isinstance(rle_size, list) and len(rle_size) == 2 and \
                    tuple(rle_size) != tuple(size):
                raise UserError(
                    f'{where}, frame {frame_id}: the mask is {rle_size[0]}x'
                    f'{rle_size[1]} (HxW) but the frames of {frames} are '
                    f'{size[0]}x{size[1]}: the results are not of this '
                    'video')


def check_ann_video(ann_file: str, info: VideoInfo, frames: str,
                    num_frames: int, size: Tuple[int, int]) -> None:
    """Refuse an annotation video whose length or size is not that of the
    frames."""
    if info.length != num_frames:
        raise UserError(
            f'{ann_file}: video {info.id} has {info.length} frames but '
            f'{frames} has {num_frames}')
    if (info.height, info.width) != tuple(size):
        raise UserError(
            f'{ann_file}: video {info.id} is {info.height}x{info.width} '
            f'(HxW) but the frames of {frames} are {size[0]}x{size[1]}')


def frame_instances(kept: List[Tuple[int, VideoInstance]], frame_index: int,
                    size: Tuple[int, int],
                    label_of: Dict[int, int]) -> 'InstanceData':
    """The kept results present in one frame, as the renderer takes them
    (masks (n, H, W) bool, bboxes (n, 4) from the masks, labels, scores,
    instances_id)."""
    import torch
    from mmdet.structures.mask import mask2bbox
    from mmengine.structures import InstanceData

    indices, masks = decode_frame_masks(kept, frame_index, *size)
    picked = [kept[i] for i in indices.tolist()]
    return InstanceData(
        masks=masks,
        bboxes=mask2bbox(torch.from_numpy(masks)).float().reshape(-1, 4),
        labels=torch.tensor([label_of[r.category_id] for _, r in picked],
                            dtype=torch.int64),
        scores=torch.tensor([r.score for _, r in picked],
                            dtype=torch.float32),
        instances_id=torch.tensor([i for i, _ in picked], dtype=torch.int64))


def load_ann(ann_file: str) -> dict:
    ann = load_json(ann_file)
    if not isinstance(ann, dict) or not isinstance(ann.get('videos'), list) \
            or not isinstance(ann.get('categories'), list):
        raise VISFormatError(
            f'{ann_file}: not a YouTube-VIS dataset json (needs lists '
            '"videos" and "categories")')
    ann.setdefault('annotations', [])
    return ann


def run(args) -> int:
    """Render on parsed arguments (user errors raise, see :func:`main`)."""
    import cv2

    from mmvis_clip.apis.frame_source import FrameSource
    from mmvis_clip.visualization.video_renderer import (AtomicVideoWriter,
                                                         VideoRenderer)

    source = FrameSource(args.frames)
    check_outputs(args, source)
    results, name = read_results_list(args.results)
    ann = load_ann(args.ann_file) if args.ann_file else None
    video_id = find_video_id(args, source, results, name, ann)
    num_frames, size = count_frames(source)
    check_results_fit(results, name, video_id, args.frames, num_frames, size)
    if ann is not None:
        gt = parse_ground_truth(ann, args.ann_file)
        check_ann_video(args.ann_file, gt.videos[video_id], args.frames,
                        num_frames, size)
        classes = [cat.get('name') or f'category {cat["id"]}'
                   for cat in ann['categories']]
        category_ids = [cat['id'] for cat in ann['categories']]
    info = VideoInfo(video_id, size[0], size[1], num_frames)
    instances = [
        inst for _, inst in parse_video_results(
            results, info, category_ids if ann is not None else None, name)
    ]
    if ann is None:
        category_ids = sorted({inst.category_id for inst in instances})
        classes = [f'category {cat_id}' for cat_id in category_ids]
    label_of = {cat_id: label for label, cat_id in enumerate(category_ids)}
    kept = kept_results(instances, args.score_thr)

    renderer = VideoRenderer(classes=classes)
    stems = frame_stems(source.frame_files, num_frames)
    writer = AtomicVideoWriter(args.out, fps=source.fps) if args.out \
        else None
    try:
        for frame_index, frame in enumerate(source):
            drawn = renderer.draw(
                frame, frame_instances(kept, frame_index, size, label_of))
            if writer is not None:
                writer.write(drawn)
            if args.out_pngs:
                ok, data = cv2.imencode('.png', drawn)
                assert ok, 'PNG encoding failed'
                write_bytes_atomic(
                    data.tobytes(),
                    osp.join(args.out_pngs, f'{stems[frame_index]}.png'))
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    print(f'{name}: video {video_id}, {num_frames} frames, {len(kept)} of '
          f'{len(instances)} results drawn (score >= {args.score_thr})')
    for path in (args.out, args.out_pngs):
        if path:
            print(f'written: {path}')
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    with exit_on_user_error():
        return run(args)


if __name__ == '__main__':
    sys.exit(main())
