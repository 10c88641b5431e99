"""New-object merge rate of CiCo's clip tracker on seeded scripted scenes.

Each scene is a short video cut into clips (``--clip-len`` frames,
``--overlap`` shared). Two to four objects (boxes of 20 to 100 px a side in
180 x 320 frames, i.e. 0.7% to 17% of the frame, whose masks fill them,
drifting a pixel or so a frame) start in the first clip; about half vanish
at a random clip, and most vanished objects are followed, in the same or
one of the next two clips, by a NEW object of the same class: near the
vanished object's last box (a share ``--near``; IoU about 0.3 with it) or
far from every box of the scene. A new object's embedding has cosine
similarity drawn uniformly from ``--sim`` with the vanished object's
embedding; each object's per-clip embeddings are noisy copies of its own
(cosine about 0.97). Detection scores are drawn per object.

Every rule tracks the very same detections (a scene is drawn once, then
given to each tracker), so the counts compare the rules and nothing else.
The package default carries unmatched tracks; its ``render_masks`` fills
the crop box (the track's last box x 1.2) in every frame: the carried mask
stays where the object was last seen, the worst case for a new object
appearing there.

For each rule it prints: new objects; how many were merged into an older
object's id (near / far); how many were dropped at their first clip (a
conflict loser under the default rule); continuing objects (those of the
first clip, over their 2+ clips) and how many kept one id throughout.

Usage:
    python tools/analysis/tracker_merge_rate.py --scenes 200 --seed 0
"""
import argparse
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.structures import InstanceData

from mmvis_clip.models.trackers import ClipTracker

#: Frame size of the scripted scenes (masks and boxes).
H, W = 180, 320
EMBED_DIM = 32
NUM_CLASSES = 3
#: The authors' Eq. 11 weights (the R50 CiCo config's), for every rule.
WEIGHTS = dict(embed=1.0, mask_iou=0.5, box_iou=0.5, label=0.3, score=0.1)


class ThresholdClipTracker(ClipTracker):
    """``ClipTracker`` with a fixed "new track" score ``match_thr``: the
    package's former rule, kept here for comparisons.

    Args:
        match_thr (float): The score an object needs to continue a track.
            Defaults to 0.5.
        **kwargs: ``ClipTracker``'s arguments.
    """

    def __init__(self, match_thr: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.match_thr = float(match_thr)

    def get_new_track_score(self, dets: InstanceData) -> torch.Tensor:
        """``match_thr`` for each of the clip's N objects: (N, ) float32."""
        return torch.full((len(dets), ),
                          self.match_thr,
                          dtype=torch.float32,
                          device=dets.embeddings.device)


#: The former rule: a fixed threshold 0.5, the loser of a conflict starts a
#: new track, IoU weights not doubled with overlap, every frame in the
#: IoUs, IoU terms for the tracks detected in the previous clip only, no
#: carried tracks.
THRESHOLD_RULE = dict(
    tracker=ThresholdClipTracker,
    match_thr=0.5,
    on_conflict='new',
    overlap_iou_scale=1.0,
    iou_min_pixels=0,
    lost_iou=False,
    carry=dict(clips=0))
RULES = {
    'default (authors\' rule)': dict(),
    'threshold 0.5, loser new': THRESHOLD_RULE,
}


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _box_at(obj: dict, frame: int) -> List[float]:
    """The object's box at a video frame (drifting, kept in the frame)."""
    w, h = obj['size']
    x, y = np.asarray(obj['pos']) + np.asarray(obj['vel']) * (
        frame - obj['frame0'])
    x = float(np.clip(x, 0, W - w))
    y = float(np.clip(y, 0, H - h))
    return [round(x), round(y), round(x) + w, round(y) + h]


def _overlaps(box, boxes) -> bool:
    return any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3]
               and b[1] < box[3] for b in boxes)


def make_scene(rng: np.random.Generator, num_clips: int, clip_len: int,
               overlap: int, near: float, sim: tuple) -> dict:
    """Draw one scene: its objects and every clip's detections.

    Returns:
        dict: ``clips`` (list of T frame ids each), ``dets`` (list, per
        clip, of ``(object index, boxes (T x 4), embedding, label,
        score)``), ``objects`` (list of dicts with ``first``, ``last``
        (clip range), ``new`` (bool) and ``near`` (bool)).
    """
    stride = clip_len - overlap
    clips = [
        list(range(k * stride, k * stride + clip_len))
        for k in range(num_clips)
    ]
    objects = []
    for _ in range(rng.integers(2, 5)):
        size = [int(rng.integers(20, 101)), int(rng.integers(20, 101))]
        vanish = rng.random() < 0.5
        objects.append(
            dict(
                size=size,
                pos=[rng.uniform(0, W - size[0]),
                     rng.uniform(0, H - size[1])],
                vel=rng.uniform(-1.5, 1.5, 2).tolist(),
                frame0=0,
                label=int(rng.integers(NUM_CLASSES)),
                embed=_unit(rng.standard_normal(EMBED_DIM)),
                score=rng.uniform(0.4, 1.0),
                first=0,
                last=int(rng.integers(0, num_clips - 2))
                if vanish else num_clips - 1,
                new=False,
                near=False))
    for old in list(objects):
        if old['last'] == num_clips - 1 or rng.random() >= 0.8:
            continue
        first = old['last'] + 1 + int(rng.integers(0, 3))
        if first >= num_clips:
            continue
        frame0 = clips[first][0]
        last_box = _box_at(old, clips[old['last']][-1])
        size = [int(rng.integers(20, 101)), int(rng.integers(20, 101))]
        is_near = bool(rng.random() < near)
        if is_near:
            # shifted by about half the vanished box: IoU about 0.3
            pos = [
                last_box[0] + rng.choice([-1, 1]) * 0.5 * old['size'][0],
                last_box[1] + rng.uniform(-0.2, 0.2) * old['size'][1]
            ]
        else:
            others = [last_box] + [
                _box_at(o, f) for o in objects
                for f in (frame0, clips[-1][-1])
            ]
            for _ in range(100):
                pos = [
                    rng.uniform(0, W - size[0]),
                    rng.uniform(0, H - size[1])
                ]
                box = [pos[0], pos[1], pos[0] + size[0], pos[1] + size[1]]
                if not _overlaps(box, others):
                    break
            else:
                continue
        cos = rng.uniform(*sim)
        ortho = rng.standard_normal(EMBED_DIM)
        ortho = _unit(ortho - ortho @ old['embed'] * old['embed'])
        objects.append(
            dict(
                size=size,
                pos=pos,
                vel=rng.uniform(-1.5, 1.5, 2).tolist(),
                frame0=frame0,
                label=old['label'],
                embed=cos * old['embed'] + np.sqrt(1 - cos**2) * ortho,
                score=rng.uniform(0.4, 1.0),
                first=first,
                last=num_clips - 1,
                new=True,
                near=is_near))
    dets = []
    for k, frame_ids in enumerate(clips):
        clip = []
        for index, obj in enumerate(objects):
            if not obj['first'] <= k <= obj['last']:
                continue
            noise = rng.standard_normal(EMBED_DIM) * 0.25 / np.sqrt(EMBED_DIM)
            clip.append((index, [_box_at(obj, f) for f in frame_ids],
                         _unit(obj['embed'] + noise), obj['label'],
                         float(np.clip(obj['score'] + rng.normal(0, 0.05),
                                       0.15, 1.0))))
        dets.append(clip)
    return dict(clips=clips, dets=dets, objects=objects)


def to_instances(clip: list, clip_len: int) -> InstanceData:
    """A clip's scripted detections as :meth:`ClipTracker.track_clip`
    takes them."""
    num = len(clip)
    boxes = torch.tensor([c[1] for c in clip],
                         dtype=torch.float32).view(num, clip_len, 4)
    masks = torch.zeros(num, clip_len, H, W, dtype=torch.bool)
    for i, (_, obj_boxes, _, _, _) in enumerate(clip):
        for t, (x1, y1, x2, y2) in enumerate(obj_boxes):
            masks[i, t, y1:y2, x1:x2] = True
    return InstanceData(
        labels=torch.tensor([c[3] for c in clip], dtype=torch.long),
        scores=torch.tensor([c[4] for c in clip], dtype=torch.float32),
        embeddings=torch.tensor(
            np.array([c[2] for c in clip]),
            dtype=torch.float32).view(num, EMBED_DIM),
        bboxes=boxes,
        masks=masks,
        params=torch.zeros(num, 1),
        clip_bboxes=torch.cat([boxes[:, :, :2].min(1)[0],
                               boxes[:, :, 2:].max(1)[0]], 1))


def make_renderer(clip_len: int):
    """``render_masks`` filling each crop box in every frame."""

    def render(params: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        masks = torch.zeros(len(params), clip_len, H, W, dtype=torch.bool)
        for k, (x1, y1, x2, y2) in enumerate(boxes.round().long().tolist()):
            masks[k, :, max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] = True
        return masks

    return render


def run_rule(scenes: List[dict], clip_len: int, overlap: int,
             **kwargs) -> Dict[str, int]:
    """Track every scene with one rule and count merges and kept ids."""
    counts = dict(
        new=0, merged=0, merged_near=0, merged_far=0, new_dropped=0,
        continuing=0, kept=0)
    render = make_renderer(clip_len)
    tracker_type = kwargs.pop('tracker', ClipTracker)
    for scene in scenes:
        tracker = tracker_type(
            clip_len=clip_len, overlap=overlap, weights=WEIGHTS, **kwargs)
        ids = [[] for _ in scene['objects']]  # per object, per clip
        for clip in scene['dets']:
            tracker.track_clip(to_instances(clip, clip_len), render)
            for (index, *_), track_id in zip(clip,
                                             tracker.last_det_ids.tolist()):
                ids[index].append(track_id)
        for index, obj in enumerate(scene['objects']):
            if obj['new']:
                earlier = {
                    i
                    for other, obj_ids in zip(scene['objects'], ids)
                    if other['first'] < obj['first'] for i in obj_ids
                } - {-1}
                counts['new'] += 1
                counts['new_dropped'] += ids[index][0] == -1
                if earlier & set(ids[index]):
                    counts['merged'] += 1
                    counts['merged_near' if obj['near'] else
                           'merged_far'] += 1
            elif len(ids[index]) >= 2:
                counts['continuing'] += 1
                counts['kept'] += len(set(ids[index])) == 1 and \
                    ids[index][0] >= 0
    return counts


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scenes', type=int, default=200,
                        help='number of scenes (default 200)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default 0)')
    parser.add_argument('--clips', type=int, default=8,
                        help='clips per scene (default 8)')
    parser.add_argument('--clip-len', type=int, default=3,
                        help='frames per clip T (default 3)')
    parser.add_argument('--overlap', type=int, default=1,
                        help='frames shared by consecutive clips (default 1)')
    parser.add_argument('--near', type=float, default=0.25,
                        help='share of new objects appearing next to the '
                        'vanished one (default 0.25)')
    parser.add_argument('--sim', type=float, nargs=2, default=(0.0, 0.8),
                        metavar=('LOW', 'HIGH'),
                        help='range of the cosine similarity between a new '
                        "object's embedding and the vanished object's "
                        '(default 0.0 0.8)')
    args = parser.parse_args(argv)
    if args.scenes < 1:
        parser.error('--scenes must be >= 1')
    if args.clips < 4:
        parser.error('--clips must be >= 4')
    if args.clip_len < 1 or not 0 <= args.overlap < args.clip_len:
        parser.error('--clip-len must be >= 1 and 0 <= --overlap < '
                     '--clip-len')
    if not 0 <= args.near <= 1:
        parser.error('--near must be in [0, 1]')
    if not -1 <= args.sim[0] <= args.sim[1] <= 1:
        parser.error('--sim needs -1 <= LOW <= HIGH <= 1')
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, int]]:
    """Draw the scenes, track them with every rule, print the counts.

    Returns:
        dict[str, dict[str, int]]: Per rule: ``new``, ``merged``,
        ``merged_near``, ``merged_far``, ``new_dropped``, ``continuing``
        and ``kept``.
    """
    args = parse_args(argv)
    scenes = [
        make_scene(
            np.random.default_rng([args.seed, i]), args.clips,
            args.clip_len, args.overlap, args.near, tuple(args.sim))
        for i in range(args.scenes)
    ]
    results = {
        name: run_rule(scenes, args.clip_len, args.overlap, **kwargs)
        for name, kwargs in RULES.items()
    }
    print(f'{args.scenes} scenes, seed {args.seed}, {args.clips} clips of '
          f'{args.clip_len} frames ({args.overlap} shared), new-object '
          f'similarity {args.sim[0]:g}..{args.sim[1]:g}, near share '
          f'{args.near:g}')
    header = (f'{"rule":<26} {"new":>5} {"merged":>7} {"near/far":>9} '
              f'{"dropped":>8} {"continuing kept id":>19}')
    print(header)
    print('-' * len(header))
    for name, c in results.items():
        print(f'{name:<26} {c["new"]:>5} {c["merged"]:>7} '
              f'{str(c["merged_near"]) + "/" + str(c["merged_far"]):>9} '
              f'{c["new_dropped"]:>8} '
              f'{str(c["kept"]) + " / " + str(c["continuing"]):>19}')
    return results


if __name__ == '__main__':
    main()
