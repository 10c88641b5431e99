"""Clip masks of CiCo-Yolact: prototypes times coefficients (Eq. 5)."""
import torch
import torch.nn as nn
from mmdet.registry import MODELS
from torch import Tensor

from .clip_mask_loss import clip_mask_bce_loss


def box_region(boxes: Tensor, proto_stride: float, height: int,
               width: int) -> Tensor:
    """Mask pixels covered by each box.

    Mask pixel ``(i, j)`` covers the input-image area
    ``[j * s, (j + 1) * s) x [i * s, (i + 1) * s)`` with ``s`` the
    ``proto_stride``; it belongs to a box when this area overlaps the box
    interior. Boxes aligned to the grid therefore crop exactly the pixels
    they cover, and an unaligned box keeps its partly covered border
    pixels (YOLACT instead pads its crop by one mask pixel on each side).
    A box of zero width or height selects nothing.

    Args:
        boxes (Tensor): Shape (N, 4), x1y1x2y2 in input-image pixels.
        proto_stride (float): Input pixels per mask pixel.
        height (int): Mask height h.
        width (int): Mask width w.

    Returns:
        Tensor: Bool, shape (N, 1, h, w), broadcastable over T frames.
    """
    if boxes.dim() != 2 or boxes.size(1) != 4:
        raise ValueError(f'boxes must be (N, 4), got {tuple(boxes.shape)}')
    if not proto_stride > 0:
        raise ValueError(f'proto_stride must be > 0, got {proto_stride}')
    cols = torch.arange(width, device=boxes.device, dtype=boxes.dtype)
    rows = torch.arange(height, device=boxes.device, dtype=boxes.dtype)
    x1, y1, x2, y2 = (boxes[:, i, None] / proto_stride for i in range(4))
    in_x = (cols < x2) & (cols + 1 > x1)  # (N, w)
    in_y = (rows < y2) & (rows + 1 > y1)  # (N, h)
    return (in_y[:, :, None] & in_x[:, None, :])[:, None]


def crop_masks(masks: Tensor, boxes: Tensor, proto_stride: float) -> Tensor:
    """Zero clip masks outside their box (the ``Crop`` of Eq. 5).

    Args:
        masks (Tensor): Shape (N, T, h, w), e.g. mask probabilities.
        boxes (Tensor): Shape (N, 4), circumscribed boxes, x1y1x2y2 in
            input-image pixels.
        proto_stride (float): Input pixels per mask pixel.

    Returns:
        Tensor: ``masks`` with the pixels outside :func:`box_region` set
        to 0, shape (N, T, h, w).
    """
    if masks.dim() != 4 or masks.size(0) != boxes.size(0):
        raise ValueError('masks must be (N, T, h, w) with one box per '
                         f'mask, got {tuple(masks.shape)} and boxes '
                         f'{tuple(boxes.shape)}')
    region = box_region(boxes, proto_stride, masks.size(2), masks.size(3))
    return masks * region.to(masks.dtype)


@MODELS.register_module()
class YolactClipMaskGenerator(nn.Module):
    r"""CiCo-Yolact clip masks, Eq. 5.

    :math:`M_i = Crop(\sigma(P \theta_i), \ddot{B}_i)`: the clip prototypes
    ``P`` (k channels on each of the T frames) are linearly combined with
    the object's coefficients :math:`\theta_i = \tanh(params_i)` (tanh as
    in YOLACT), the same coefficients on every frame. :meth:`forward`
    returns the uncropped logits :math:`P \theta_i`; the crop by the
    circumscribed box :math:`\ddot{B}_i` is applied by :meth:`loss` and,
    on probabilities at inference, by :func:`crop_masks`.

    Args:
        num_protos (int): Prototype channels k (32 in CiCo-Yolact).
        loss_weight (float): :math:`\lambda_3`. Defaults to 1.0.
    """

    def __init__(self, num_protos: int = 32, loss_weight: float = 1.0) -> None:
        super().__init__()
        if num_protos < 1:
            raise ValueError(f'num_protos must be >= 1, got {num_protos}')
        self.num_protos = num_protos
        self.num_params = num_protos
        self.loss_weight = loss_weight

    def forward(self, protos: Tensor, params: Tensor, boxes: Tensor,
                proto_stride: float) -> Tensor:
        """Clip mask logits of the objects of one clip.

        Args:
            protos (Tensor): Clip prototypes, shape (k, T, h, w).
            params (Tensor): Raw mask parameters, shape (N, k).
            boxes (Tensor): Circumscribed boxes, shape (N, 4); unused here
                (the crop is outside the logits), kept for the common
                interface.
            proto_stride (float): Unused, see ``boxes``.

        Returns:
            Tensor: Logits, shape (N, T, h, w).
        """
        if protos.dim() != 4 or protos.size(0) != self.num_protos:
            raise ValueError(f'protos must be ({self.num_protos}, T, h, w), '
                             f'got {tuple(protos.shape)}')
        if params.dim() != 2 or params.size(1) != self.num_params:
            raise ValueError(f'params must be (N, {self.num_params}), got '
                             f'{tuple(params.shape)}')
        return torch.einsum('nk,kthw->nthw', params.tanh(), protos)

    def crop_masks(self, masks: Tensor, boxes: Tensor,
                   proto_stride: float) -> Tensor:
        """Zero ``masks`` (N, T, h, w) outside ``boxes``; see
        :func:`crop_masks`."""
        return crop_masks(masks, boxes, proto_stride)

    def loss(self, logits: Tensor, gt_masks: Tensor, boxes: Tensor,
             proto_stride: float) -> Tensor:
        """Clip-level BCE inside the circumscribed box, Eq. 8.

        Per object and frame the BCE is summed over :func:`box_region` and
        divided by the box area in mask pixels (clamped to >= 1), as YOLACT
        and the public CiCo code normalise by box area; then averaged over
        frames and objects and multiplied by ``loss_weight``.

        Args:
            logits (Tensor): Shape (N, T, h, w), from :meth:`forward`.
            gt_masks (Tensor): Shape (N, T, h, w), {0, 1}.
            boxes (Tensor): Circumscribed boxes, shape (N, 4), input pixels.
            proto_stride (float): Input pixels per mask pixel.

        Returns:
            Tensor: Scalar loss.
        """
        if logits.dim() != 4 or boxes.shape != (logits.size(0), 4):
            raise ValueError('logits must be (N, T, h, w) with boxes (N, 4), '
                             f'got {tuple(logits.shape)} and '
                             f'{tuple(boxes.shape)}')
        region = box_region(boxes, proto_stride, logits.size(2),
                            logits.size(3))
        area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) /
                proto_stride**2).clamp(min=1.0)
        loss = clip_mask_bce_loss(logits, gt_masks, region, area)
        return self.loss_weight * loss
