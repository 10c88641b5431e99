"""Pairwise cosine tracking loss of CiCo (Eq. 9)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class CosineTrackLoss(nn.Module):
    r"""Tracking loss over all ordered pairs of a clip's positives, Eq. 9.

    :math:`-\frac{1}{N^2} \sum_{i,j} [ID_i = ID_j] \log d_{ij} +
    [ID_i \neq ID_j] \log(1 - d_{ij})`, ``i = j`` included, with
    :math:`d_{ij} = 0.5(\cos(E_i, E_j) + 1)` clamped to ``[eps, 1 - eps]``;
    computed in float32.

    Args:
        loss_weight (float): :math:`\lambda_4`. Defaults to 1.0.
        eps (float): Clamp of :math:`d_{ij}`. Defaults to 1e-4.

    Raises:
        ValueError: If ``eps`` is not in (0, 0.5).
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-4) -> None:
        super().__init__()
        if not 0 < eps < 0.5:
            raise ValueError(f'eps must be in (0, 0.5), got {eps}')
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, embeds: Tensor, ids: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            embeds (Tensor): Embeddings of the positives, shape (N, D).
            ids (Tensor): Integer instance ids, shape (N, ).

        Returns:
            Tensor: Scalar loss (a zero in the graph of ``embeds`` for N = 0).
        """
        if embeds.dim() != 2:
            raise ValueError('embeds must be (N, D), got '
                             f'{tuple(embeds.shape)}')
        if tuple(ids.shape) != (embeds.size(0), ):
            raise ValueError(f'ids must have shape ({embeds.size(0)}, ), '
                             f'got {tuple(ids.shape)}')
        if embeds.size(0) == 0:
            return embeds.sum() * 0.

        with torch.autocast(embeds.device.type, enabled=False):
            # at least float32 (float64 stays float64)
            unit = F.normalize(
                embeds.to(torch.promote_types(embeds.dtype, torch.float32)),
                dim=1)
            dist = (0.5 * (unit @ unit.t() + 1)).clamp(self.eps, 1 - self.eps)
            same = ids[:, None] == ids[None, :]
            loss = -torch.where(same, dist, 1 - dist).log()
            return self.loss_weight * loss.mean()
