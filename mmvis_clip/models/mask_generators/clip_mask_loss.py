"""Clip-level binary cross-entropy mask loss of CiCo (Eq. 8)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor


def clip_mask_bce_loss(logits: Tensor,
                       gt_masks: Tensor,
                       region: Optional[Tensor] = None,
                       normaliser: Optional[Tensor] = None) -> Tensor:
    """BCE between clip mask logits and targets over all T frames, Eq. 8.

    For every object ``n`` and frame ``t`` the per-pixel BCE is summed over
    ``region`` (all pixels when ``None``) and divided by ``normaliser[n]``
    (``h * w`` when ``None``, i.e. the per-pixel mean); the result is
    averaged over the T frames and the N objects.

    Args:
        logits (Tensor): Mask logits, shape (N, T, h, w).
        gt_masks (Tensor): Targets in {0, 1}, shape (N, T, h, w); any dtype
            (converted to that of ``logits``).
        region (Tensor, optional): Bool, broadcastable to (N, T, h, w),
            e.g. (N, 1, h, w) box crops; pixels outside are left out.
        normaliser (Tensor, optional): Positive, shape (N, ), e.g. box
            areas in mask pixels.

    Returns:
        Tensor: Scalar; for N = 0 a zero still connected to the graph of
        ``logits``.
    """
    if logits.dim() != 4 or gt_masks.shape != logits.shape:
        raise ValueError('logits and gt_masks must both be (N, T, h, w), '
                         f'got {tuple(logits.shape)} and '
                         f'{tuple(gt_masks.shape)}')
    if logits.size(0) == 0:
        return logits.sum() * 0.
    bce = F.binary_cross_entropy_with_logits(
        logits, gt_masks.to(logits.dtype), reduction='none')
    if region is not None:
        bce = bce * region.to(bce.dtype)
    per_frame = bce.flatten(2).sum(dim=2)  # (N, T)
    if normaliser is None:
        per_frame = per_frame / (logits.size(2) * logits.size(3))
    else:
        per_frame = per_frame / normaliser.to(bce.dtype)[:, None]
    return per_frame.mean()
