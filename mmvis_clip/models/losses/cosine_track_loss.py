"""Pairwise cosine tracking loss of CiCo (Eq. 9)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class CosineTrackLoss(nn.Module):
    r"""Tracking loss over all pairs of positive samples of a clip, Eq. 9.

    With :math:`d_{ij} = 0.5(\cos(E_i, E_j) + 1) \in [0, 1]`:

    .. math::

        L_{track} = -\frac{1}{N^2} \sum_{i,j=1}^{N}
            [ID_i = ID_j] \log d_{ij} + [ID_i \neq ID_j] \log(1 - d_{ij})

    The sum runs over all :math:`N^2` ordered pairs, ``i = j`` included, as
    Eq. 9 writes it (those terms are :math:`-\log(1 - \epsilon)`, nearly
    zero, and carry no gradient because of the clamp). :math:`d_{ij}` is
    clamped to ``[eps, 1 - eps]`` so that the logarithms stay finite.

    The loss is computed in float32 whatever the input dtype or autocast
    (in half precision ``1 - eps`` rounds to 1), and only the logarithm of
    the term each pair uses is evaluated: the unused branch of a
    ``torch.where`` would still back-propagate ``0 * inf = NaN``.

    Args:
        loss_weight (float): :math:`\lambda_4`. The public CiCo code uses 5.
            Defaults to 1.0.
        eps (float): Clamp of :math:`d_{ij}`. Defaults to 1e-4.
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
            embeds (Tensor): Tracking embeddings of the positive samples,
                shape (N, D).
            ids (Tensor): Integer instance ids, shape (N, ).

        Returns:
            Tensor: Scalar loss; for N = 0 a zero still connected to the
            graph of ``embeds``.
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
