"""CiCo's clip-level online tracker (CiCo paper, Sec. 3.4, Eq. 11)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

from .vis_tracker_base import VISTrackerBase

REQUIRED_FIELDS = ('labels', 'scores', 'embeddings', 'bboxes', 'masks')
WEIGHT_KEYS = ('embed', 'mask_iou', 'box_iou', 'label', 'score')


def mask_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """IoU of every pair of binary masks.

    Args:
        masks1 (Tensor): Of shape (N, H, W), bool.
        masks2 (Tensor): Of shape (M, H, W), bool.

    Returns:
        Tensor: Of shape (N, M), float32; 0 where both masks are empty.
    """
    flat1 = masks1.flatten(1).float()
    flat2 = masks2.flatten(1).float()
    inter = flat1 @ flat2.t()
    union = flat1.sum(1)[:, None] + flat2.sum(1)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1),
                       torch.zeros_like(inter))


@MODELS.register_module()
class ClipTracker(VISTrackerBase):
    """CiCo's clip-level online tracker.

    A video is processed as clips of ``clip_len`` (T) frames, consecutive
    clips sharing ``overlap`` (To) frames (see
    :func:`~mmvis_clip.models.utils.clip_schedule.clip_starts`). Each clip's
    objects (already filtered by score and NMS in the model) are linked to
    the tracks in memory with the matching score of Eq. 11, extended with
    the public code's optional label and detection score terms:

    ``s(i, j) = w_embed * 0.5 * (cos(e_i, m_j) + 1)
    + w_mask_iou * mean_q MIoU(M_i[q], M_j[q])
    + w_box_iou * mean_q BIoU(B_i[q], B_j[q])
    + w_label * [l_i == l_j] + w_score * s_i``

    where ``e_i`` is the clip embedding of object ``i`` (cosine mapped to
    [0, 1] as in the paper's d_ij and the public code), ``m_j`` the saved
    embedding of track ``j`` (latest, or a momentum average with
    ``momentums=dict(embeddings=m)``), ``l_j`` the track's label in the
    clip it was last seen in and ``s_i`` the object's detection score. The
    IoU terms average over the overlapping frames ``q``: the first To frames
    of this clip against the last To frames of the previous clip (the same
    video frames). With ``overlap=0`` there is no shared frame and the IoUs
    compare this clip's first frame with the previous clip's last frame: the
    two are adjacent video frames, in which objects move little. The IoU
    terms only apply to tracks seen in the previous clip; a track lost
    earlier (kept for ``num_clips_retain`` clips) has no frame to compare
    and is matched on the other terms only.

    Each object takes the id of its best-scoring track when that score is
    above ``match_thr`` (conflicts resolved by
    :meth:`VISTrackerBase.assign_ids` with ``assignment``), else a new id.
    A track saves, per clip it is seen in, its embedding and the masks and
    boxes of the clip's last ``max(overlap, 1)`` frames, plus one label vote
    and one score (:meth:`track_summaries`: majority-vote category over the
    clips, mean score); memory is bounded whatever the video length.

    Outputs are written once per video frame, from the latest clip that
    covers it (the public code's rule): the last To frames of a clip are
    held back and replaced by the next clip, whose first To frames are the
    same video frames; :meth:`flush` returns those still held at the end of
    the video.

    Args:
        clip_len (int): Frames per clip T. Defaults to 3.
        overlap (int): Frames shared by consecutive clips,
            ``0 <= overlap < clip_len``. Defaults to 1 (the paper's choice,
            Table 2).
        weights (dict[str, float]): Exactly the keys ``embed``,
            ``mask_iou``, ``box_iou`` (alpha1..3 of Eq. 11), ``label`` and
            ``score``. Defaults to ``dict(embed=1.0, mask_iou=1.0,
            box_iou=1.0, label=0.0, score=0.0)``.
        match_thr (float): Best score an object needs to continue a track.
            Defaults to 0.5.
        num_clips_retain (int): A track last seen in clip ``c`` can be
            matched up to clip ``c + num_clips_retain``, then is forgotten.
            Defaults to 10.
        momentums (dict[str, float], optional): Only ``embeddings``.
            Defaults to None (latest embedding).
        assignment (str): ``'argmax'`` or ``'hungarian'``. Defaults to
            ``'argmax'``.
    """

    def __init__(self,
                 clip_len: int = 3,
                 overlap: int = 1,
                 weights: Dict[str, float] = dict(
                     embed=1.0,
                     mask_iou=1.0,
                     box_iou=1.0,
                     label=0.0,
                     score=0.0),
                 match_thr: float = 0.5,
                 num_clips_retain: int = 10,
                 momentums: Optional[Dict[str, float]] = None,
                 assignment: str = 'argmax') -> None:
        if not isinstance(clip_len, int) or clip_len < 1:
            raise ValueError(f'clip_len must be an int >= 1, got '
                             f'{clip_len!r}.')
        if not isinstance(overlap, int) or not 0 <= overlap < clip_len:
            raise ValueError(f'overlap must be an int in [0, clip_len='
                             f'{clip_len}), got {overlap!r}.')
        if not isinstance(weights, dict) or set(weights) != set(WEIGHT_KEYS):
            raise ValueError(
                f'weights must be a dict with exactly the keys '
                f'{sorted(WEIGHT_KEYS)}, got '
                f'{sorted(weights) if isinstance(weights, dict) else weights}'
                '.')
        if momentums is not None and set(momentums) - {'embeddings'}:
            raise ValueError('ClipTracker momentums may only name '
                             f"'embeddings', got {sorted(momentums)}.")
        self.clip_len = clip_len
        self.overlap = overlap
        self.weights = {k: float(v) for k, v in weights.items()}
        self.match_thr = float(match_thr)
        super().__init__(
            num_frames_retain=num_clips_retain,
            momentums=momentums,
            assignment=assignment)

    @property
    def num_clips_retain(self) -> int:
        """int: Clips a lost track is kept for (the base's
        ``num_frames_retain``, counted in clips)."""
        return self.num_frames_retain

    @property
    def num_saved_frames(self) -> int:
        """int: Frames of masks and boxes a track saves for the IoU terms:
        ``max(overlap, 1)``."""
        return max(self.overlap, 1)

    def reset(self) -> None:
        """Forget every track and held frame; call it before each video."""
        super().reset()
        self.clip_index = -1
        self.last_clip_frame_ids: Optional[List[int]] = None
        self.held: List[Tuple[int, InstanceData]] = []
        self.video_ended = False

    def _check_frame_ids(self, frame_ids: Sequence[int]) -> List[int]:
        frame_ids = [int(f) for f in frame_ids]
        if len(frame_ids) != self.clip_len:
            raise ValueError(f'ClipTracker: clip {frame_ids} has '
                             f'{len(frame_ids)} frame ids, expected '
                             f'clip_len={self.clip_len}.')
        steps = [b - a for a, b in zip(frame_ids, frame_ids[1:])]
        padding_from = next((i for i, step in enumerate(steps) if step == 0),
                            len(steps))
        if any(step <= 0 for step in steps[:padding_from]) or any(
                step != 0 for step in steps[padding_from:]):
            raise ValueError(
                f'ClipTracker: clip frame ids {frame_ids} must increase, '
                'then only repeat the last index (end-of-video padding).')
        if self.video_ended:
            raise ValueError(
                f'ClipTracker: got clip {frame_ids} after the end of the '
                f'video (a padded clip or flush()); call reset() at the '
                f'start of each video.')
        prev = self.last_clip_frame_ids
        if prev is not None:
            if self.overlap and \
                    frame_ids[:self.overlap] != prev[-self.overlap:]:
                raise ValueError(
                    f'ClipTracker: clip {frame_ids} must start with the '
                    f'last {self.overlap} frames of the previous clip '
                    f'{prev} (overlap={self.overlap}).')
            if not self.overlap and frame_ids[0] <= prev[-1]:
                raise ValueError(
                    f'ClipTracker: clip {frame_ids} must start after the '
                    f'previous clip {prev} (overlap=0).')
        return frame_ids

    def _check_dets(self, frame_ids: List[int], dets: InstanceData) -> None:
        for field in REQUIRED_FIELDS:
            if field not in dets:
                raise KeyError(f'ClipTracker.track_clip: dets of clip '
                               f'{frame_ids} have no {field!r}.')
        num, clip_len = len(dets), self.clip_len
        shapes = {k: tuple(dets.get(k).shape) for k in REQUIRED_FIELDS}
        if (len(shapes['labels']) != 1 or len(shapes['scores']) != 1
                or len(shapes['embeddings']) != 2
                or shapes['bboxes'] != (num, clip_len, 4)
                or len(shapes['masks']) != 4
                or shapes['masks'][:2] != (num, clip_len)):
            raise ValueError(
                f'ClipTracker.track_clip: dets of clip {frame_ids} need '
                f'labels (N, ), scores (N, ), embeddings (N, D), bboxes '
                f'(N, T={clip_len}, 4) and masks (N, T, H, W); got {shapes}.')
        if dets.masks.dtype != torch.bool:
            raise TypeError(f'ClipTracker.track_clip: masks of clip '
                            f'{frame_ids} must be bool, got '
                            f'{dets.masks.dtype}.')

    def get_match_score(self, dets: InstanceData,
                        track_ids: List[int]) -> Tensor:
        """Eq. 11 between the clip's objects and the tracks in memory.

        Called by :meth:`track_clip` once ``clip_index`` is this clip's
        index: the tracks last seen at ``clip_index - 1`` get the IoU terms.

        Args:
            dets (InstanceData): The clip's N objects (see
                :meth:`track_clip`).
            track_ids (list[int]): The M tracks to score, in column order.

        Returns:
            Tensor: Of shape (N, M), float32.
        """
        w = self.weights
        device = dets.embeddings.device
        scores = dets.embeddings.new_zeros(
            len(dets), len(track_ids), dtype=torch.float32)
        if w['embed']:
            embeds = F.normalize(dets.embeddings.float(), dim=1)
            prev_embeds = F.normalize(
                self.get('embeddings', track_ids).to(device).float(), dim=1)
            scores += w['embed'] * 0.5 * (embeds @ prev_embeds.t() + 1)
        if w['label']:
            prev_labels = torch.tensor(
                [self.tracks[i].last_label for i in track_ids], device=device)
            scores += w['label'] * (dets.labels.to(device)[:, None]
                                    == prev_labels[None]).float()
        if w['score']:
            scores += w['score'] * dets.scores.to(device).float()[:, None]

        columns = [
            j for j, i in enumerate(track_ids)
            if self.tracks[i].last_frame_id == self.clip_index - 1
        ]
        if columns and (w['mask_iou'] or w['box_iou']):
            seen = [track_ids[j] for j in columns]
            num_saved = self.num_saved_frames
            ious = scores.new_zeros(len(dets), len(columns))
            if w['mask_iou']:
                prev_masks = self.get('masks', seen).to(device)
                if prev_masks.shape[2:] != dets.masks.shape[2:]:
                    raise ValueError(
                        'ClipTracker: mask size changed within the video '
                        f'from {tuple(prev_masks.shape[2:])} to '
                        f'{tuple(dets.masks.shape[2:])}.')
                for q in range(num_saved):
                    ious += w['mask_iou'] / num_saved * mask_iou(
                        dets.masks[:, q], prev_masks[:, q])
            if w['box_iou']:
                prev_bboxes = self.get('bboxes', seen).to(device).float()
                for q in range(num_saved):
                    ious += w['box_iou'] / num_saved * bbox_overlaps(
                        dets.bboxes[:, q].float(), prev_bboxes[:, q])
            scores[:, columns] += ious
        return scores

    def track_clip(self, frame_ids: Sequence[int],
                   dets: InstanceData) -> List[Tuple[int, InstanceData]]:
        """Give the objects of one clip their track ids.

        Args:
            frame_ids (Sequence[int]): The clip's T video frame indices, in
                order; a clip running past the video's end is padded by
                repeating the last index (e.g. ``[7, 8, 8]``), which ends
                the video. A clip must start with the previous clip's last
                ``overlap`` frames (or after its last frame when
                ``overlap=0``).
            dets (InstanceData): The clip's N objects: ``labels`` (N, ),
                ``scores`` (N, ), ``embeddings`` (N, D), ``bboxes``
                (N, T, 4) and ``masks`` (N, T, H, W) bool. Other fields are
                not carried to the outputs.

        Returns:
            list[tuple[int, InstanceData]]: ``(frame_id, instances)`` for
            each video frame final after this clip, in frame order: the
            clip's frames except its last ``overlap`` ones (held back until
            the next clip or :meth:`flush`), a repeated index once, taken at
            its first position. ``instances`` holds every object of the
            clip: ``bboxes`` (n, 4), ``masks`` (n, H, W) bool, ``labels``
            (n, ), ``scores`` (n, ) (the clip's values) and
            ``instances_id`` (n, ) long.
        """
        frame_ids = self._check_frame_ids(frame_ids)
        self._check_dets(frame_ids, dets)
        self.clip_index += 1

        track_ids = self.ids
        if len(dets) == 0 or not track_ids:
            ids = self.allocate_ids(len(dets))
        else:
            ids = self.assign_ids(
                self.get_match_score(dets, track_ids), self.match_thr,
                track_ids)
        # clones: the tracks must not keep the clip's whole tensors alive
        saved = slice(self.clip_len - self.num_saved_frames, None)
        self.update(
            self.clip_index,
            ids,
            dets.labels,
            dets.scores,
            embeddings=dets.embeddings.detach().clone(),
            masks=dets.masks[:, saved].clone(),
            bboxes=dets.bboxes[:, saved].detach().clone())
        ids = ids.to(dets.labels.device)

        held_frames = set(frame_ids[self.clip_len - self.overlap:])
        first_position: Dict[int, int] = dict()
        for position, frame_id in enumerate(frame_ids):
            first_position.setdefault(frame_id, position)
        ready, self.held = [], []
        for frame_id, position in first_position.items():
            if frame_id in held_frames:
                # copies, not views of the whole clip's tensors
                self.held.append(
                    (frame_id,
                     self._frame_result(dets, ids, position, copy=True)))
            else:
                ready.append(
                    (frame_id, self._frame_result(dets, ids, position)))
        self.last_clip_frame_ids = frame_ids
        self.video_ended = len(first_position) < self.clip_len
        return ready

    @staticmethod
    def _frame_result(dets: InstanceData,
                      ids: Tensor,
                      position: int,
                      copy: bool = False) -> InstanceData:
        """The clip's objects at one of its frames (tensors cloned when
        ``copy``)."""
        fields = dict(
            bboxes=dets.bboxes[:, position],
            masks=dets.masks[:, position],
            labels=dets.labels,
            scores=dets.scores,
            instances_id=ids)
        if copy:
            fields = {k: v.detach().clone() for k, v in fields.items()}
        return InstanceData(**fields)

    def flush(self) -> List[Tuple[int, InstanceData]]:
        """Return the frames held back at the end of the video.

        Returns:
            list[tuple[int, InstanceData]]: The last clip's last
            ``overlap`` frames, as in :meth:`track_clip`. Call
            :meth:`reset` before the next video.
        """
        held, self.held = self.held, []
        self.video_ended = self.last_clip_frame_ids is not None
        return held

    def track(self, frame_ids: Sequence[int], dets: InstanceData,
              **kwargs) -> List[Tuple[int, InstanceData]]:
        """mmdet's ``BaseTracker`` entry point: :meth:`track_clip`
        (``kwargs`` are accepted and unused)."""
        return self.track_clip(frame_ids, dets)
