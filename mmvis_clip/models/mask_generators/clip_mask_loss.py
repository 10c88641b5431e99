"""Clip-level mask loss of CiCo (Eq. 8), its box crops and the base class
of the clip mask generators, reduced and rounded as the authors' code."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def _pixel_span(lo: Tensor, hi: Tensor, proto_stride: float, size: int,
                padding: int) -> Tuple[Tensor, Tensor]:
    """Mask-pixel spans ``[a, b)``, (N, ) long, of pixel spans [lo, hi)."""
    extent = size * proto_stride
    lo = torch.div(lo.clamp(0, extent), proto_stride).floor().long()
    hi = torch.div(hi.clamp(0, extent), proto_stride).floor().long()
    lo, hi = torch.minimum(lo, hi), torch.maximum(lo, hi)
    return (lo - padding).clamp(min=0), (hi + padding).clamp(max=size)


def box_region(boxes: Tensor,
               proto_stride: float,
               height: int,
               width: int,
               padding: int = 1) -> Tensor:
    """Mask pixels inside each box (the crop of Eq. 5).

    Column ``j`` is inside when ``floor(x1 / s) - p <= j < floor(x2 / s) +
    p``, ``x1, x2`` clamped to ``[0, width * s]`` (rows alike), as YOLACT's
    ``crop``.

    Args:
        boxes (Tensor): Shape (N, 4), x1y1x2y2 in input-image pixels.
        proto_stride (float): Input pixels per mask pixel, ``s``.
        height (int): Mask height h.
        width (int): Mask width w.
        padding (int): Mask pixels added on each side, ``p``.
            Defaults to 1.

    Returns:
        Tensor: Bool, shape (N, 1, h, w), broadcastable over T frames.
    """
    assert boxes.dim() == 2 and boxes.size(1) == 4, boxes.shape
    assert proto_stride > 0 and padding >= 0
    x1, x2 = _pixel_span(boxes[:, 0], boxes[:, 2], proto_stride, width,
                         padding)
    y1, y2 = _pixel_span(boxes[:, 1], boxes[:, 3], proto_stride, height,
                         padding)
    cols = torch.arange(width, device=boxes.device)
    rows = torch.arange(height, device=boxes.device)
    in_x = (cols >= x1[:, None]) & (cols < x2[:, None])  # (N, w)
    in_y = (rows >= y1[:, None]) & (rows < y2[:, None])  # (N, h)
    return (in_y[:, :, None] & in_x[:, None, :])[:, None]


def box_area(boxes: Tensor, proto_stride: float, height: int,
             width: int) -> Tensor:
    """Areas of :func:`box_region` with ``padding=0``, >= 1 pixel a side.

    Args:
        boxes (Tensor): Shape (N, 4), x1y1x2y2 in input-image pixels.
        proto_stride (float): Input pixels per mask pixel.
        height (int): Mask height h.
        width (int): Mask width w.

    Returns:
        Tensor: Shape (N, ), float32, >= 1.
    """
    x1, x2 = _pixel_span(boxes[:, 0], boxes[:, 2], proto_stride, width, 0)
    y1, y2 = _pixel_span(boxes[:, 1], boxes[:, 3], proto_stride, height, 0)
    return ((x2 - x1).clamp(min=1) * (y2 - y1).clamp(min=1)).float()


def enlarge_boxes(boxes: Tensor, scale: float, min_size: float,
                  img_size: Tuple[float, float]) -> Tensor:
    """Boxes scaled about their centres, with a minimum size.

    Width ``max(scale * w, min_size * W)``, height alike, with
    ``(H, W) = img_size``; the result may leave the image.

    Args:
        boxes (Tensor): Shape (N, 4), x1y1x2y2 in input-image pixels.
        scale (float): Factor on width and height.
        min_size (float): Minimum side as a fraction of the image's.
        img_size (tuple[float, float]): (H, W) in input pixels.

    Returns:
        Tensor: Shape (N, 4).
    """
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = (boxes[:, 2:] - boxes[:, :2]) * scale
    floor = size.new_tensor([img_size[1], img_size[0]]) * min_size
    half = torch.maximum(size, floor) / 2
    return torch.cat([centre - half, centre + half], dim=1)


def crop_masks(masks: Tensor,
               boxes: Tensor,
               proto_stride: float,
               padding: int = 1) -> Tensor:
    """Zero clip masks outside their box.

    Args:
        masks (Tensor): Shape (N, T, h, w), e.g. mask probabilities.
        boxes (Tensor): Crop boxes (N, 4), enlarged, input pixels.
        proto_stride (float): Input pixels per mask pixel.
        padding (int): See :func:`box_region`. Defaults to 1.

    Returns:
        Tensor: ``masks`` zeroed outside :func:`box_region`, (N, T, h, w).
    """
    assert masks.dim() == 4 and masks.size(0) == boxes.size(0), \
        (masks.shape, boxes.shape)
    region = box_region(boxes, proto_stride, masks.size(2), masks.size(3),
                        padding)
    return masks * region.to(masks.dtype)


def frame_decay_weights(row_frames: Tensor, num_frames: int,
                        decay: float) -> Tensor:
    """Frame weights ``decay^|t - row_frames[n]|`` of the clip mask loss.

    A row frame of -1 (one prediction row per clip) weighs all frames 1.

    Args:
        row_frames (Tensor): Shape (N, ), long, in [-1, T).
        num_frames (int): T.
        decay (float): Base of the weights, in (0, 1].

    Returns:
        Tensor: Shape (N, T), float32.
    """
    assert row_frames.dim() == 1 and bool((row_frames < num_frames).all())
    frames = torch.arange(num_frames, device=row_frames.device)
    dist = (frames[None] - row_frames[:, None]).abs().float()
    weights = torch.full_like(dist, float(decay)).pow(dist)
    return torch.where(row_frames[:, None] >= 0, weights,
                       torch.ones_like(weights))


def clip_mask_bce_loss(logits: Tensor,
                       gt_masks: Tensor,
                       region: Optional[Tensor] = None,
                       normaliser: Optional[Tensor] = None,
                       frame_weights: Optional[Tensor] = None) -> Tensor:
    """BCE between clip mask logits and targets over all T frames, Eq. 8.

    Per object and frame, the BCE summed over ``region`` and divided by
    ``normaliser``; the frames averaged with ``frame_weights``, then the
    objects; in at least float32.

    Args:
        logits (Tensor): Mask logits, shape (N, T, h, w).
        gt_masks (Tensor): Targets in {0, 1}, shape (N, T, h, w).
        region (Tensor, optional): Bool, broadcastable to (N, T, h, w);
            all pixels when None.
        normaliser (Tensor, optional): Positive, shape (N, ), e.g. box
            areas in mask pixels; ``h * w`` when None.
        frame_weights (Tensor, optional): Non-negative, shape (N, T), with
            a positive sum per object; uniform when None.

    Returns:
        Tensor: Scalar (a zero in the graph of ``logits`` for N = 0).
    """
    assert logits.dim() == 4 and gt_masks.shape == logits.shape, (
        f'logits {tuple(logits.shape)}, gt_masks {tuple(gt_masks.shape)}')
    if logits.size(0) == 0:
        return logits.sum() * 0.
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    bce = F.binary_cross_entropy_with_logits(
        logits, gt_masks.to(logits.dtype), reduction='none')
    if region is not None:
        bce = bce * region.to(bce.dtype)
    per_frame = bce.flatten(2).sum(dim=2)  # (N, T)
    if normaliser is None:
        per_frame = per_frame / (logits.size(2) * logits.size(3))
    else:
        per_frame = per_frame / normaliser.to(bce.dtype)[:, None]
    if frame_weights is None:
        return per_frame.mean()
    assert frame_weights.shape == per_frame.shape, frame_weights.shape
    weights = frame_weights.to(bce.dtype)
    return ((per_frame * weights).sum(1) / weights.sum(1)).mean()


class BaseClipMaskGenerator(nn.Module):
    """Crop and loss shared by the clip mask generators.

    Subclasses implement ``forward(protos, params, boxes, proto_stride)``
    returning uncropped logits (N, T, h, w) and set ``num_protos`` and
    ``num_params``. With ``crop``, masks are cut to the circumscribed box
    enlarged about its centre (``crop_scale`` in the loss,
    ``test_crop_scale`` at test; sides >= ``min_crop_size`` of the map's
    extent), padded by ``crop_padding`` mask pixels, and the loss is the
    BCE of the logits summed inside the crop over the unenlarged box's
    area (:func:`box_area`); without, the per-pixel mean over the map.

    Args:
        crop (bool): Crop masks in the loss and at inference.
        crop_scale (float): Enlargement of the box for the loss crop.
        test_crop_scale (float): Enlargement at inference.
        min_crop_size (float): Minimum crop side, fraction of the image.
        crop_padding (int): Mask pixels added around the crop.
        loss_weight (float): :math:`\\lambda_3`.

    Raises:
        ValueError: If a crop scale is <= 0 or ``min_crop_size`` or
            ``crop_padding`` is negative.
    """

    def __init__(self, crop: bool, crop_scale: float,
                 test_crop_scale: float, min_crop_size: float,
                 crop_padding: int, loss_weight: float) -> None:
        super().__init__()
        if crop_scale <= 0 or test_crop_scale <= 0 or min_crop_size < 0 \
                or crop_padding < 0:
            raise ValueError('crop scales must be > 0, min_crop_size and '
                             f'crop_padding >= 0, got {crop_scale}, '
                             f'{test_crop_scale}, {min_crop_size}, '
                             f'{crop_padding}')
        self.crop = crop
        self.crop_scale = crop_scale
        self.test_crop_scale = test_crop_scale
        self.min_crop_size = min_crop_size
        self.crop_padding = crop_padding
        self.loss_weight = loss_weight

    def crop_region(self, boxes: Tensor, proto_stride: float, height: int,
                    width: int, scale: float, min_size: float) -> Tensor:
        """Crops of the boxes enlarged by ``scale``, sides >= ``min_size``.

        Returns:
            Tensor: Bool, (N, 1, h, w), padded by ``crop_padding``.
        """
        crop_boxes = enlarge_boxes(
            boxes, scale, min_size,
            (height * proto_stride, width * proto_stride))
        return box_region(crop_boxes, proto_stride, height, width,
                          self.crop_padding)

    def crop_masks(self,
                   masks: Tensor,
                   boxes: Tensor,
                   proto_stride: float,
                   crop_scale: Optional[float] = None,
                   min_crop_size: Optional[float] = None) -> Tensor:
        """Test-time crop of clip masks (identity without ``crop``).

        Args:
            masks (Tensor): Shape (N, T, h, w), e.g. probabilities.
            boxes (Tensor): Circumscribed boxes (N, 4), input pixels, not
                enlarged.
            proto_stride (float): Input pixels per mask pixel.
            crop_scale (float, optional): Enlargement; default
                ``test_crop_scale``.
            min_crop_size (float, optional): Minimum side fraction;
                default ``min_crop_size``.

        Returns:
            Tensor: (N, T, h, w), zero outside the crops.
        """
        if not self.crop:
            return masks
        assert masks.dim() == 4 and boxes.shape == (masks.size(0), 4), \
            (masks.shape, boxes.shape)
        region = self.crop_region(
            boxes, proto_stride, masks.size(2), masks.size(3),
            self.test_crop_scale if crop_scale is None else crop_scale,
            self.min_crop_size if min_crop_size is None else min_crop_size)
        return masks * region.to(masks.dtype)

    def loss(self,
             logits: Tensor,
             gt_masks: Tensor,
             boxes: Tensor,
             proto_stride: float,
             frame_weights: Optional[Tensor] = None) -> Tensor:
        """Clip-level BCE of the objects of one clip, Eq. 8.

        Args:
            logits (Tensor): Shape (N, T, h, w), from ``forward``.
            gt_masks (Tensor): Shape (N, T, h, w), {0, 1}.
            boxes (Tensor): Circumscribed boxes (N, 4), input pixels.
            proto_stride (float): Input pixels per mask pixel.
            frame_weights (Tensor, optional): (N, T), e.g.
                :func:`frame_decay_weights`; uniform when None.

        Returns:
            Tensor: Scalar, the objects' mean times ``loss_weight``.
        """
        assert logits.dim() == 4 and boxes.shape == (logits.size(0), 4), (
            f'logits {tuple(logits.shape)}, boxes {tuple(boxes.shape)}')
        region = normaliser = None
        if self.crop:
            height, width = logits.shape[-2:]
            region = self.crop_region(boxes, proto_stride, height, width,
                                      self.crop_scale, self.min_crop_size)
            normaliser = box_area(boxes, proto_stride, height, width)
        return self.loss_weight * clip_mask_bce_loss(
            logits, gt_masks, region, normaliser, frame_weights)
