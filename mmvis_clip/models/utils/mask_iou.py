"""IoU of every pair of binary masks, whatever the autocast."""
import torch
from torch import Tensor


def mask_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """IoU of every pair of bool masks (N, H, W) x (M, H, W).

    Returns:
        Tensor: Of shape (N, M), float32 even under autocast; 0 where both
        masks are empty.
    """
    with torch.autocast(masks1.device.type, enabled=False):
        flat1 = masks1.flatten(1).float()
        flat2 = masks2.flatten(1).float()
        inter = flat1 @ flat2.t()
        union = flat1.sum(1)[:, None] + flat2.sum(1)[None, :] - inter
        return torch.where(union > 0, inter / union.clamp(min=1),
                           torch.zeros_like(inter))
