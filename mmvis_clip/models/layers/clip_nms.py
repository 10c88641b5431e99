"""Test-time filtering and NMS of a clip's candidates (CiCo paper, Sec. 3.4;
the authors' code's rules, ``configs/cico/README.md``)."""
from typing import Optional

import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor

from ..utils.mask_iou import mask_iou


def pairwise_clip_ious(bboxes: Tensor, clip_bboxes: Tensor, masks: Tensor,
                       min_mask_pixels: int = 5):
    """IoUs between every pair of a clip's candidates.

    Args:
        bboxes (Tensor): (n, T, 4) per-frame boxes.
        clip_bboxes (Tensor): (n, 4) circumscribed boxes.
        masks (Tensor): (n, T, h, w) bool.
        min_mask_pixels (int): A frame counts when both masks have more.

    Returns:
        tuple[Tensor]: (n, n) float32 each: ``box_iou``, ``mask_iou``
        (means over the counted frames), ``clip_box_iou``,
        ``coincident_box``, ``coincident_mask`` (maxima over them).
    """
    num, num_frames = masks.shape[:2]
    flags = masks.flatten(2).sum(2) > min_mask_pixels  # (n, T)
    box_sum = bboxes.new_zeros((num, num), dtype=torch.float32)
    mask_sum = torch.zeros_like(box_sum)
    box_max = torch.zeros_like(box_sum)
    mask_max = torch.zeros_like(box_sum)
    counts = torch.zeros_like(box_sum)
    for t in range(num_frames):
        flag = (flags[:, t, None] & flags[None, :, t]).float()
        biou = bbox_overlaps(bboxes[:, t].float(), bboxes[:, t].float())
        miou = mask_iou(masks[:, t], masks[:, t])
        box_sum += biou * flag
        mask_sum += miou * flag
        box_max = torch.maximum(box_max, biou * flag)
        mask_max = torch.maximum(mask_max, miou * flag)
        counts += flag
    counts = counts.clamp(min=1)
    clip_iou = bbox_overlaps(clip_bboxes.float(), clip_bboxes.float())
    return box_sum / counts, mask_sum / counts, clip_iou, box_max, mask_max


#: Near-duplicate rules of :func:`clip_nms`.
DUP_RULES = ('class_agnostic_box', 'per_class_frame')


def box_duplicates(bboxes: Tensor, clip_bboxes: Tensor, ranks: Tensor,
                   iou_thr: float) -> Tensor:
    """Candidates with a better-ranked near-duplicate of any class.

    Args:
        bboxes (Tensor): (n, T, 4) per-frame boxes.
        clip_bboxes (Tensor): (n, 4) circumscribed boxes.
        ranks (Tensor): (n, ) ranking scores (ties: lower index first).
        iou_thr (float): On ``0.5 * mean_t box IoU + 0.5 * circumscribed
            box IoU``.

    Returns:
        Tensor: (n, ) bool, True for the candidates to drop.
    """
    order = ranks.argsort(descending=True, stable=True)
    boxes = bboxes[order].float().transpose(0, 1)  # (T, n, 4)
    frame_iou = bbox_overlaps(boxes, boxes).mean(0)
    clip = clip_bboxes[order].float()
    iou = 0.5 * frame_iou + 0.5 * bbox_overlaps(clip, clip)
    dropped_sorted = iou.triu(diagonal=1).amax(0) > iou_thr
    dropped = torch.zeros_like(dropped_sorted)
    dropped[order] = dropped_sorted
    return dropped


def box_stage(scores: Tensor,
              bboxes: Tensor,
              clip_bboxes: Tensor,
              img_shape: tuple,
              quality: Optional[Tensor], score_thr: float,
              dup_iou_thr: float, dup_rule: str) -> Tensor:
    """The tests of :func:`clip_nms` needing no mask (same arguments):
    (m, ) long indices, by decreasing ``scores * quality``."""
    assert dup_rule in DUP_RULES, dup_rule
    if scores.numel() == 0:
        return scores.new_zeros((0, ), dtype=torch.long)
    height, width = img_shape[:2]
    boxes = bboxes.float()
    centre_x = (boxes[..., 0] + boxes[..., 2]) / 2
    centre_y = (boxes[..., 1] + boxes[..., 3]) / 2
    keep = ((centre_x > 0) & (centre_x < width) & (centre_y > 0) &
            (centre_y < height)).any(1)
    ranks = scores.float() * (1 if quality is None else quality.float())
    keep &= ranks > score_thr
    if dup_rule == 'class_agnostic_box':
        keep &= ~box_duplicates(boxes, clip_bboxes, ranks, dup_iou_thr)
    kept = keep.nonzero().squeeze(1)
    return kept[ranks[kept].argsort(descending=True, stable=True)]


def mask_stage(kept: Tensor,
               labels: Tensor,
               bboxes: Tensor,
               clip_bboxes: Tensor,
               kept_masks: Tensor,
               proto_stride: float, iou_thr: float, dup_iou_thr: float,
               dup_rule: str, min_mask_pixels: int, min_box_cover: float,
               max_per_clip: Optional[int]) -> Tensor:
    """The mask tests and NMS of :func:`clip_nms` on :func:`box_stage`'s
    ``kept`` (m, ), with their masks ``kept_masks`` (m, T, h, w) bool; the
    other arguments as :func:`clip_nms`'s. Returns a subsequence of
    ``kept``."""
    assert kept_masks.size(0) == kept.numel(), (kept_masks.shape, kept.shape)
    if kept.numel() == 0:
        return kept
    boxes = bboxes[kept].float()
    area = kept_masks.flatten(2).sum(2).float()  # (m, T)
    box_area = ((boxes[..., 2] - boxes[..., 0]) *
                (boxes[..., 3] - boxes[..., 1]) / proto_stride**2).clamp(
                    min=1e-6)
    good = (area > min_mask_pixels).any(1) & (
        area / box_area > min_box_cover).any(1)
    kept, kept_masks = kept[good], kept_masks[good]
    if kept.numel() == 0:
        return kept
    box_iou, m_iou, clip_iou, box_max, mask_max = pairwise_clip_ious(
        bboxes[kept], clip_bboxes[kept], kept_masks, min_mask_pixels)
    iou = 0.25 * box_iou + 0.25 * clip_iou + 0.5 * m_iou
    duplicate = mask_max > dup_iou_thr
    if dup_rule == 'per_class_frame':
        duplicate |= box_max > dup_iou_thr
    iou = torch.where(duplicate, torch.ones_like(iou), iou)
    same_class = labels[kept, None] == labels[None, kept]
    iou = (iou * same_class).triu(diagonal=1)
    kept = kept[iou.amax(0) <= iou_thr]
    return kept if max_per_clip is None else kept[:max_per_clip]


class ClipNMS:
    """:func:`clip_nms`'s settings, the one owner of their defaults (the
    authors'), and its two stages with them.

    Args:
        score_thr, iou_thr, dup_iou_thr, dup_rule, min_mask_pixels,
            min_box_cover, max_per_clip: See :func:`clip_nms`.
    """

    #: CiCo's ``test_cfg`` keys -> the settings they give.
    TEST_CFG_KEYS = dict(
        score_thr='score_thr',
        nms_iou_thr='iou_thr',
        dup_iou_thr='dup_iou_thr',
        dup_rule='dup_rule',
        min_mask_pixels='min_mask_pixels',
        min_box_cover='min_box_cover',
        max_per_clip='max_per_clip')

    def __init__(self,
                 score_thr: float = 0.1,
                 iou_thr: float = 0.5,
                 dup_iou_thr: float = 0.9,
                 dup_rule: str = 'per_class_frame',
                 min_mask_pixels: int = 5,
                 min_box_cover: float = 0.1,
                 max_per_clip: Optional[int] = None) -> None:
        assert dup_rule in DUP_RULES, dup_rule
        self.score_thr = score_thr
        self.iou_thr = iou_thr
        self.dup_iou_thr = dup_iou_thr
        self.dup_rule = dup_rule
        self.min_mask_pixels = min_mask_pixels
        self.min_box_cover = min_box_cover
        self.max_per_clip = max_per_clip

    @classmethod
    def from_test_cfg(cls, test_cfg: Optional[dict]) -> 'ClipNMS':
        """The settings among ``test_cfg``'s keys
        (:attr:`TEST_CFG_KEYS`); the others keep their defaults."""
        test_cfg = test_cfg or dict()
        return cls(
            **{
                name: test_cfg[key]
                for key, name in cls.TEST_CFG_KEYS.items() if key in test_cfg
            })

    def box_stage(self,
                  scores: Tensor,
                  bboxes: Tensor,
                  clip_bboxes: Tensor,
                  img_shape: tuple,
                  quality: Optional[Tensor] = None) -> Tensor:
        """:func:`box_stage` with these settings."""
        return box_stage(scores, bboxes, clip_bboxes, img_shape, quality,
                         self.score_thr, self.dup_iou_thr, self.dup_rule)

    def mask_stage(self, kept: Tensor, labels: Tensor, bboxes: Tensor,
                   clip_bboxes: Tensor, kept_masks: Tensor,
                   proto_stride: float) -> Tensor:
        """:func:`mask_stage` with these settings."""
        return mask_stage(kept, labels, bboxes, clip_bboxes, kept_masks,
                          proto_stride, self.iou_thr, self.dup_iou_thr,
                          self.dup_rule, self.min_mask_pixels,
                          self.min_box_cover, self.max_per_clip)


def clip_nms(scores: Tensor,
             labels: Tensor,
             bboxes: Tensor,
             clip_bboxes: Tensor,
             masks: Tensor,
             img_shape: tuple,
             proto_stride: float,
             quality: Optional[Tensor] = None,
             **settings) -> Tensor:
    """Indices of the candidates a clip keeps, best first
    (:func:`box_stage`, then :func:`mask_stage`).

    1. Rank by ``scores * quality``; with ``'class_agnostic_box'`` drop
       :func:`box_duplicates`.
    2. Drop boxes centred outside the image in every frame, ranks
       ``<= score_thr``, masks of ``<= min_mask_pixels`` pixels or covering
       ``<= min_box_cover`` of their box in every frame.
    3. Per class Fast NMS on ``0.25 box IoU + 0.25 circumscribed box IoU +
       0.5 mask IoU > iou_thr`` (:func:`pairwise_clip_ious`); a mask IoU
       (``'per_class_frame'``: or box IoU) above ``dup_iou_thr`` in a
       frame counts as 1.
    4. Keep at most ``max_per_clip`` (None: all).

    Args:
        scores (Tensor): (n, ) class scores.
        labels (Tensor): (n, ).
        bboxes (Tensor): (n, T, 4) per-frame boxes, network-input pixels.
        clip_bboxes (Tensor): (n, 4) circumscribed boxes.
        masks (Tensor): (n, T, h, w) bool masks at prototype resolution.
        img_shape (tuple): (H, W) of the network input.
        proto_stride (float): Input pixels per mask pixel.
        quality (Tensor, optional): (n, ) in [0, 1] (centerness); None:
            ones.
        **settings: ``score_thr`` (0.1), ``iou_thr`` (0.5), ``dup_iou_thr``
            (0.9), ``dup_rule`` (``'per_class_frame'``),
            ``min_mask_pixels`` (5), ``min_box_cover`` (0.1),
            ``max_per_clip`` (None): see above and :class:`ClipNMS`.

    Returns:
        Tensor: (m, ) long indices into the candidates, by decreasing
        ``scores * quality``.
    """
    nms = ClipNMS(**settings)
    kept = nms.box_stage(scores, bboxes, clip_bboxes, img_shape, quality)
    return nms.mask_stage(kept, labels, bboxes, clip_bboxes, masks[kept],
                          proto_stride)
