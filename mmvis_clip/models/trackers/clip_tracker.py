"""CiCo's clip-level online tracker (CiCo paper, Sec. 3.4, Eq. 11)."""
import difflib
import inspect
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

from ...utils.user_errors import UserError
from ..utils.clip_boxes import scale_boxes
from ..utils.mask_iou import mask_iou
from .track_assignment import (CONFLICT_RULES, DROPPED, NEW_TRACK,
                               assign_detections_to_tracks)
from .vis_tracker_base import VISTrackerBase

REQUIRED_FIELDS = ('labels', 'scores', 'embeddings', 'bboxes', 'masks')
RENDER_FIELDS = ('params', 'clip_bboxes')
WEIGHT_KEYS = ('embed', 'mask_iou', 'box_iou', 'label', 'score')
#: The authors' "new track" dummy column (``Track_TF.track`` and
#: ``compute_comp_scores``).
NEW_TRACK_DEFAULTS = dict(
    embed=0.5, iou=0.3, small_iou_scale=0.5, small_area=0.1, label=1.0)
#: Carrying of unmatched tracks (``carry``); ``clips=None`` means
#: ``max(3, 15 // clip_len)``.
CARRY_DEFAULTS = dict(
    clips=None, score_decay=0.9, score_thr=0.1, min_pixels=4, box_scale=1.2)

#: ``render_masks(params (m, P), boxes (m, 4)) -> masks (m, T, H, W) bool``:
#: masks of arbitrary mask parameters on the current clip's prototypes,
#: cropped by ``boxes`` (output resolution).
MaskRenderer = Callable[[Tensor, Tensor], Tensor]


@MODELS.register_module()
class ClipTracker(VISTrackerBase):
    """CiCo's clip-level online tracker (Eq. 11 of the CiCo paper).

    ``s(i, j) = w_embed * (cos(e_i, m_j) + 1) / 2 + w_score * s_i
    + k * (w_mask_iou * MIoU(i, j) + w_box_iou * BIoU(i, j))
    + w_label * [l_i == l_j]``, ``k = overlap_iou_scale`` when clips share
    frames, else 1. A detection continues a track only when it scores more
    than its "new track" dummy. The rules in full: ``configs/cico/README.md``,
    "The clip tracker".

    Args:
        clip_len (int): Frames per clip T. Defaults to 3.
        overlap (int): Frames shared by consecutive clips, in
            ``[0, clip_len)``. Defaults to 1 (paper, Table 2).
        weights (dict[str, float]): Exactly the keys ``embed``,
            ``mask_iou``, ``box_iou`` (alpha1..3 of Eq. 11), ``label``,
            ``score``. Defaults to ``dict(embed=1.0, mask_iou=0.5,
            box_iou=0.5, label=0.3, score=0.1)``.
        new_track (dict): Dummy-column terms, keys among
            ``NEW_TRACK_DEFAULTS``. Defaults to ``NEW_TRACK_DEFAULTS``.
        overlap_iou_scale (float): Factor on the IoU weights when
            ``overlap > 0``. Defaults to 2.0.
        iou_min_pixels (int): A frame enters the IoU terms when both masks
            have at least this many pixels. Defaults to 3.
        on_conflict (str): ``'drop'`` or ``'new'``. Defaults to ``'drop'``.
        lost_iou (bool): IoU terms also for tracks not detected in the
            previous clip. Defaults to True.
        carry (dict, optional): Keys among ``CARRY_DEFAULTS``: ``clips``
            (0: off; None: ``max(3, 15 // clip_len)``), ``score_decay`` (per
            frame), ``score_thr``, ``min_pixels``, ``box_scale``. The former
            ``carry_<key>`` arguments warn (FutureWarning).
        num_clips_retain (int): Clips a track is kept after its last
            detection. Defaults to 10.
        momentums (dict[str, float], optional): Only ``embeddings``.
            Defaults to None (latest embedding).
        assignment (str): ``'argmax'`` or ``'hungarian'``. Defaults to
            ``'argmax'``.

    Raises:
        ValueError: If an argument is out of range or has unknown keys.

    Attributes:
        last_det_ids (Tensor): Of shape (N, ), long: the id given to each
            detection of the latest clip, -1 for a dropped one.
    """

    def __init__(self,
                 clip_len: int = 3,
                 overlap: int = 1,
                 weights: Dict[str, float] = dict(
                     embed=1.0,
                     mask_iou=0.5,
                     box_iou=0.5,
                     label=0.3,
                     score=0.1),
                 new_track: Dict[str, float] = NEW_TRACK_DEFAULTS,
                 overlap_iou_scale: float = 2.0,
                 iou_min_pixels: int = 3,
                 on_conflict: str = 'drop',
                 lost_iou: bool = True,
                 carry: Optional[Dict[str, Any]] = None,
                 num_clips_retain: int = 10,
                 momentums: Optional[Dict[str, float]] = None,
                 assignment: str = 'argmax',
                 **carry_keys) -> None:
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
        if new_track == 'threshold':
            raise ValueError(
                "ClipTracker: new_track='threshold' (a fixed match_thr) is "
                'no longer a rule of the tracker; tools/analysis/'
                'tracker_merge_rate.py keeps it for comparisons.')
        if not (isinstance(new_track, dict)
                and set(new_track) <= set(NEW_TRACK_DEFAULTS)):
            raise ValueError(
                'new_track must be a dict with keys among '
                f'{sorted(NEW_TRACK_DEFAULTS)}, got {new_track!r}.')
        carry = self._carry_settings(carry, carry_keys)
        if on_conflict not in CONFLICT_RULES:
            raise ValueError(f'on_conflict must be one of {CONFLICT_RULES},'
                             f' got {on_conflict!r}.')
        if carry['clips'] is None:
            carry['clips'] = max(3, 15 // clip_len)
        for name, value in (('carry.clips', carry['clips']),
                            ('iou_min_pixels', iou_min_pixels),
                            ('carry.min_pixels', carry['min_pixels'])):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f'{name} must be an int >= 0, got '
                                 f'{value!r}.')
        if not 0 < carry['score_decay'] <= 1:
            raise ValueError('carry.score_decay must be in (0, 1], got '
                             f'{carry["score_decay"]!r}.')
        if carry['box_scale'] <= 0 or overlap_iou_scale < 0:
            raise ValueError(
                'carry.box_scale must be > 0 and overlap_iou_scale >= 0, '
                f'got {carry["box_scale"]!r}, {overlap_iou_scale!r}.')
        if momentums is not None and set(momentums) - {'embeddings'}:
            raise ValueError('ClipTracker momentums may only name '
                             f"'embeddings', got {sorted(momentums)}.")
        self.clip_len = clip_len
        self.overlap = overlap
        self.weights = {k: float(v) for k, v in weights.items()}
        self.new_track = {
            k: float(v)
            for k, v in {
                **NEW_TRACK_DEFAULTS,
                **new_track
            }.items()
        }
        self.overlap_iou_scale = float(overlap_iou_scale)
        self.iou_min_pixels = iou_min_pixels
        self.on_conflict = on_conflict
        self.lost_iou = bool(lost_iou)
        self.carry = dict(
            clips=carry['clips'],
            score_decay=float(carry['score_decay']),
            score_thr=float(carry['score_thr']),
            min_pixels=carry['min_pixels'],
            box_scale=float(carry['box_scale']))
        super().__init__(
            num_frames_retain=num_clips_retain,
            momentums=momentums,
            assignment=assignment)

    @staticmethod
    def _carry_settings(carry: Optional[Dict[str, Any]],
                        carry_keys: Dict[str, Any]) -> Dict[str, Any]:
        """``CARRY_DEFAULTS`` updated by ``carry`` and ``carry_<key>=``."""
        unknown = [
            k for k in carry_keys if not k.startswith('carry_')
            or k[len('carry_'):] not in CARRY_DEFAULTS
        ]
        if unknown:
            names = [
                name for name, param in inspect.signature(
                    ClipTracker).parameters.items()
                if param.kind is not param.VAR_KEYWORD
            ]
            hints = [
                f'{key} (did you mean {close[0]}?)' if close else key
                for key in sorted(unknown) for close in
                [difflib.get_close_matches(key, names, n=1, cutoff=0.6)]
            ]
            raise UserError(f'ClipTracker takes no {", ".join(hints)}; the '
                            'carrying settings are carry=dict(...)')
        if carry is not None and (not isinstance(carry, dict)
                                  or set(carry) - set(CARRY_DEFAULTS)):
            given = dict(carry) if isinstance(carry, dict) else carry
            raise UserError('ClipTracker carry must be a dict with keys '
                            f'among {sorted(CARRY_DEFAULTS)}, got {given!r}.')
        settings = {**CARRY_DEFAULTS, **(carry or dict())}
        for key, value in carry_keys.items():
            name = key[len('carry_'):]
            warnings.warn(
                f'ClipTracker {key}= is deprecated and will be removed in '
                f'the next release: give carry=dict({name}=...)',
                FutureWarning,
                stacklevel=3)
            settings[name] = value
        return settings

    @property
    def num_clips_retain(self) -> int:
        """int: Clips a lost track is kept for."""
        return self.num_frames_retain

    @property
    def num_saved_frames(self) -> int:
        """int: Frames a track saves for the IoU terms."""
        return max(self.overlap, 1)

    def reset(self) -> None:
        """Forget every track; call it before each video."""
        super().reset()
        self.clip_index = -1
        self.last_det_ids = torch.zeros(0, dtype=torch.long)

    def _check_dets(self, dets: InstanceData, render: bool) -> None:
        """The model's contract with the tracker (see :meth:`track_clip`)."""
        fields = REQUIRED_FIELDS + (RENDER_FIELDS if render else ())
        missing = [f for f in fields if f not in dets]
        assert not missing, f'dets of a clip lack {missing}'
        num, clip_len = len(dets), self.clip_len
        shapes = {k: tuple(dets.get(k).shape) for k in fields}
        assert (len(shapes['labels']) == len(shapes['scores']) == 1
                and len(shapes['embeddings']) == 2
                and shapes['bboxes'] == (num, clip_len, 4)
                and len(shapes['masks']) == 4
                and shapes['masks'][:2] == (num, clip_len)
                and (not render or (len(shapes['params']) == 2
                                    and shapes['clip_bboxes'] == (num, 4)))
                ), f'dets of a clip of T={clip_len}: shapes {shapes}'
        assert dets.masks.dtype == torch.bool, dets.masks.dtype

    def _iou_columns(self, track_ids: List[int]) -> List[int]:
        """Columns of ``track_ids`` that get the IoU terms."""
        if self.lost_iou:
            return list(range(len(track_ids)))
        return [
            j for j, i in enumerate(track_ids)
            if self.tracks[i].last_frame_id == self.clip_index - 1
        ]

    def _flagged_mean(self, ious: List[Tensor], det_masks: List[Tensor],
                      prev_masks: List[Tensor]) -> Tensor:
        """Mean (N, M) of per-frame IoUs ``ious`` (Q x (N, M)) over the
        frames where both masks (Q x (N|M, H, W)) have ``iou_min_pixels``;
        0 where no frame qualifies."""
        total = torch.zeros_like(ious[0])
        count = torch.zeros_like(ious[0])
        for iou, det, prev in zip(ious, det_masks, prev_masks):
            flag = (det.flatten(1).sum(1) >= self.iou_min_pixels)[:, None] \
                & (prev.flatten(1).sum(1) >= self.iou_min_pixels)[None]
            total += iou * flag
            count += flag
        return total / count.clamp(min=1)

    def get_ious(self,
                 dets: InstanceData,
                 track_ids: List[int],
                 rendered: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Mask and box IoUs, each (N, M) float32, of the clip's N objects
        with M tracks; ``rendered`` (M, T, H, W) bool serves ``overlap=0``.

        Raises:
            ValueError: If the mask size changed within the video.
        """
        device = dets.masks.device
        prev_masks = self.get('masks', track_ids).to(device)
        prev_bboxes = self.get('bboxes', track_ids).to(device).float()
        if prev_masks.shape[2:] != dets.masks.shape[2:]:
            raise ValueError(
                'ClipTracker: mask size changed within the video from '
                f'{tuple(prev_masks.shape[2:])} to '
                f'{tuple(dets.masks.shape[2:])}.')
        if self.overlap:
            # frame q of this clip is frame q of the track's saved frames
            frames = list(range(self.overlap))
            det_masks = [dets.masks[:, q] for q in frames]
            track_masks = [prev_masks[:, q] for q in frames]
            mask_ious = [mask_iou(a, b) for a, b in zip(det_masks,
                                                        track_masks)]
            box_ious = [
                bbox_overlaps(dets.bboxes[:, q].float(), prev_bboxes[:, q])
                for q in frames
            ]
            return (self._flagged_mean(mask_ious, det_masks, track_masks),
                    self._flagged_mean(box_ious, det_masks, track_masks))
        # no shared frame: the first frame against the track's last one
        box_ious = bbox_overlaps(dets.bboxes[:, 0].float(), prev_bboxes[:,
                                                                        -1])
        if rendered is not None:
            det_masks = list(dets.masks.unbind(1))
            track_masks = list(rendered.to(device).unbind(1))
        else:
            det_masks, track_masks = [dets.masks[:, 0]], [prev_masks[:, -1]]
        mask_ious = [mask_iou(a, b) for a, b in zip(det_masks, track_masks)]
        return self._flagged_mean(mask_ious, det_masks, track_masks), \
            box_ious

    def get_match_score(self,
                        dets: InstanceData,
                        track_ids: List[int],
                        rendered: Optional[Tensor] = None) -> Tensor:
        """Eq. 11 between the clip's N objects and M tracks.

        Args:
            dets (InstanceData): The clip's objects (see :meth:`track_clip`).
            track_ids (list[int]): The tracks, in column order.
            rendered (Tensor, optional): (M, T, H, W) bool, see
                :meth:`get_ious`.

        Returns:
            Tensor: Of shape (N, M), float32.
        """
        w = self.weights
        device = dets.embeddings.device
        scores = torch.zeros(
            len(dets), len(track_ids), dtype=torch.float32, device=device)
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

        columns = self._iou_columns(track_ids)
        if columns and (w['mask_iou'] or w['box_iou']):
            mask_ious, box_ious = self.get_ious(
                dets, [track_ids[j] for j in columns],
                None if rendered is None else rendered[columns])
            scale = self.overlap_iou_scale if self.overlap else 1.0
            scores[:, columns] += scale * (
                w['mask_iou'] * mask_ious.to(device) +
                w['box_iou'] * box_ious.to(device))
        return scores

    def get_new_track_score(self, dets: InstanceData) -> Tensor:
        """Score (N, ) float32 of each object starting a new track."""
        device = dets.embeddings.device
        w, new = self.weights, self.new_track
        height, width = dets.masks.shape[-2:]
        bboxes = dets.bboxes.to(device).float()
        mean_w = (bboxes[..., 2] - bboxes[..., 0]).mean(1) / width
        mean_h = (bboxes[..., 3] - bboxes[..., 1]).mean(1) / height
        small = mean_w * mean_h < new['small_area']
        iou = torch.full_like(mean_w, new['iou'])
        iou[small] *= new['small_iou_scale']
        scale = self.overlap_iou_scale if self.overlap else 1.0
        return (w['embed'] * new['embed'] + w['label'] * new['label'] +
                w['score'] * dets.scores.to(device).float() + scale *
                (w['mask_iou'] + w['box_iou']) * iou)

    def _render(self, render_masks: MaskRenderer, track_ids: List[int],
                shape: Tuple[int, int]) -> Tensor:
        """Masks (m, T, H, W) bool of tracks rendered on this clip."""
        boxes = scale_boxes(
            self.get('crop_boxes', track_ids), self.carry['box_scale'])
        masks = render_masks(self.get('params', track_ids), boxes)
        assert masks.dtype == torch.bool and tuple(masks.shape) == (
            len(track_ids), self.clip_len, *shape), \
            f'render_masks gave {masks.dtype} {tuple(masks.shape)}'
        return masks

    def _carry(self, track_ids: List[int],
               render_masks: Optional[MaskRenderer],
               rendered: Optional[Tensor],
               dets: InstanceData) -> Dict[str, Tensor]:
        """Update the unmatched tracks' saved boxes and masks; return the
        K carried outputs: ``bboxes`` (K, T, 4), ``masks`` (K, T, H, W)
        bool, ``labels``, ``scores``, ``instances_id`` (K, )."""
        clip_len, num_saved = self.clip_len, self.num_saved_frames
        shape = tuple(dets.masks.shape[-2:])
        ages = [self.clip_index - self.tracks[i].last_frame_id
                for i in track_ids]
        if render_masks is not None and rendered is None:
            to_render = [
                i for i, age in zip(track_ids, ages)
                if self.lost_iou or age <= self.carry['clips']
            ]
            if to_render:
                rendered = self._render(render_masks, to_render, shape)
                rows = dict(zip(to_render, rendered))
            else:
                rows = dict()
        else:
            rows = dict() if rendered is None else dict(
                zip(track_ids, rendered))
        out = dict(bboxes=[], masks=[], labels=[], scores=[], instances_id=[])
        for track_id, age in zip(track_ids, ages):
            states = self.tracks[track_id].states
            last_box = states['bboxes'][-1]
            states['bboxes'] = last_box.expand(num_saved, 4).clone()
            masks = rows.get(track_id)
            if masks is None:
                states['masks'] = states['masks'][-1].expand(
                    num_saved, *shape).clone()
                continue
            states['masks'] = masks[clip_len - num_saved:].clone()
            states['crop_boxes'] = last_box.clone()
            carry = self.carry
            score = float(states['last_scores']) * \
                carry['score_decay'] ** (clip_len * age)
            if age > carry['clips'] or score <= carry['score_thr'] or \
                    not (masks.flatten(1).sum(1) >=
                         carry['min_pixels']).any():
                continue
            out['bboxes'].append(last_box.expand(clip_len, 4))
            out['masks'].append(masks)
            out['labels'].append(self.tracks[track_id].last_label)
            out['scores'].append(score)
            out['instances_id'].append(track_id)
        device = dets.masks.device
        if not out['instances_id']:
            return dict(
                bboxes=dets.bboxes.new_zeros(0, clip_len, 4),
                masks=dets.masks.new_zeros(0, clip_len, *shape),
                labels=dets.labels.new_zeros(0),
                scores=dets.scores.new_zeros(0),
                instances_id=torch.zeros(0, dtype=torch.long, device=device))
        return dict(
            bboxes=torch.stack(out['bboxes']).to(device, dets.bboxes.dtype),
            masks=torch.stack(out['masks']).to(device),
            labels=torch.tensor(
                out['labels'], dtype=dets.labels.dtype, device=device),
            scores=torch.tensor(
                out['scores'], dtype=dets.scores.dtype, device=device),
            instances_id=torch.tensor(
                out['instances_id'], dtype=torch.long, device=device))

    def _assign(self, dets: InstanceData, track_ids: List[int],
                rendered: Optional[Tensor]) -> Tensor:
        """Ids (N, ) long on the CPU of the clip's objects; -1: dropped."""
        if len(dets) == 0 or not track_ids:
            return self.allocate_ids(len(dets))
        columns = assign_detections_to_tracks(
            self.get_match_score(dets, track_ids, rendered),
            self.get_new_track_score(dets),
            method=self.assignment,
            on_conflict=self.on_conflict).cpu()
        ids = torch.full_like(columns, -1)
        matched = columns >= 0
        ids[matched] = torch.tensor(
            track_ids, dtype=torch.long)[columns[matched]]
        new = columns == NEW_TRACK
        ids[new] = self.allocate_ids(int(new.sum()))
        assert ((columns >= 0) | new | (columns == DROPPED)).all()
        return ids

    def track_clip(self,
                   dets: InstanceData,
                   render_masks: Optional[MaskRenderer] = None
                   ) -> InstanceData:
        """Give the objects of the next clip their track ids.

        Args:
            dets (InstanceData): The clip's N objects: ``labels`` (N, ),
                ``scores`` (N, ), ``embeddings`` (N, D), ``bboxes``
                (N, T, 4), ``masks`` (N, T, H, W) bool; with
                ``render_masks`` also ``params`` (N, P) and ``clip_bboxes``
                (N, 4).
            render_masks (callable, optional): ``(params (m, P), boxes
                (m, 4)) -> (m, T, H, W) bool`` on this clip's prototypes.
                None carries no track. Defaults to None.

        Returns:
            InstanceData: The kept objects, then the carried tracks:
            ``bboxes`` (n, T, 4), ``masks`` (n, T, H, W) bool, ``labels``,
            ``scores``, ``instances_id`` (n, ).
        """
        if not self.carry['clips']:
            render_masks = None
        self._check_dets(dets, render_masks is not None)
        self.clip_index += 1

        track_ids = self.ids
        rendered = None
        if render_masks is not None and track_ids and not self.overlap:
            # the mask IoUs compare with the tracks rendered on this clip
            rendered = self._render(render_masks, track_ids,
                                    tuple(dets.masks.shape[-2:]))
        ids = self._assign(dets, track_ids, rendered)
        self.last_det_ids = ids
        matched = set(ids.tolist())
        unmatched = [
            (j, i) for j, i in enumerate(track_ids) if i not in matched
        ]
        carried = self._carry(
            [i for _, i in unmatched], render_masks,
            None if rendered is None else rendered[[j for j, _ in unmatched]],
            dets)

        keep = ids >= 0
        kept = dets[keep.to(dets.labels.device)] if not keep.all() else dets
        # clones: the tracks must not keep the clip's whole tensors alive
        saved = slice(self.clip_len - self.num_saved_frames, None)
        states = dict(
            embeddings=kept.embeddings.detach().clone(),
            masks=kept.masks[:, saved].clone(),
            bboxes=kept.bboxes[:, saved].detach().clone(),
            last_scores=kept.scores.detach().float().clone())
        if all(field in kept for field in RENDER_FIELDS):
            states.update(
                params=kept.params.detach().clone(),
                crop_boxes=kept.clip_bboxes.detach().float().clone())
        self.update(self.clip_index, ids[keep], kept.labels, **states)

        device = dets.labels.device
        return InstanceData(
            bboxes=torch.cat([kept.bboxes, carried['bboxes']]),
            masks=torch.cat([kept.masks, carried['masks']]),
            labels=torch.cat([kept.labels, carried['labels']]),
            scores=torch.cat([kept.scores, carried['scores']]),
            instances_id=torch.cat(
                [ids[keep].to(device), carried['instances_id']]))
