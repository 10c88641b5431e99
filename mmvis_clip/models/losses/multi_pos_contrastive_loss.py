"""Multi-positive contrastive loss of STC (Eq. 3-4)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class MultiPosContrastiveLoss(nn.Module):
    r"""Multi-positive contrastive loss, Eq. 3-4 of STC.

    :math:`L_q = \sum_{k^+} \log[1 + \sum_{k^-} \exp(q \cdot k^- - q \cdot
    k^+)]` (Eq. 3), averaged over the queries with a positive (Eq. 4); a
    query without negatives adds 0. Computed in float32 as
    ``softplus(logsumexp_{k-}(q·k-) - q·k+)``.

    Args:
        loss_weight (float): :math:`\lambda_b` (0.2 in Eq. 7).
            Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, query: Tensor, key: Tensor, pos_mask: Tensor,
                neg_mask: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            query (Tensor): Query embeddings, shape (Nq, D).
            key (Tensor): Key embeddings, shape (Nk, D).
            pos_mask (Tensor): Bool (Nq, Nk), positives of each query.
            neg_mask (Tensor): Bool (Nq, Nk), negatives, disjoint from them.

        Returns:
            Tensor: Scalar loss (a zero in the graph when no query has a
            positive).
        """
        if query.dim() != 2 or key.dim() != 2 or \
                query.size(1) != key.size(1):
            raise ValueError('query and key must be (Nq, D) and (Nk, D) '
                             f'tensors, got {tuple(query.shape)} and '
                             f'{tuple(key.shape)}')
        expected = (query.size(0), key.size(0))
        for name, mask in (('pos_mask', pos_mask), ('neg_mask', neg_mask)):
            if tuple(mask.shape) != expected or mask.dtype != torch.bool:
                raise ValueError(f'{name} must be a bool tensor of shape '
                                 f'{expected}, got {mask.dtype} '
                                 f'{tuple(mask.shape)}')
        if bool((pos_mask & neg_mask).any()):
            raise ValueError('a key is marked both positive and negative '
                             'for the same query')

        # float32 whatever the autocast: exp / logsumexp of half-precision
        # dot products of 256-d embeddings overflow
        with torch.autocast(query.device.type, enabled=False):
            sim = query.float() @ key.float().t()  # (Nq, Nk)
            has_neg = neg_mask.any(dim=1)
            # log sum_{k-} exp(q·k-); rows without negatives get a finite
            # placeholder so that neither the value nor its gradient is
            # NaN, and their terms are zeroed below (log(1 + 0) = 0).
            neg_sim = sim.masked_fill(~neg_mask, float('-inf'))
            neg_sim = torch.where(has_neg[:, None], neg_sim,
                                  torch.zeros_like(sim))
            neg_lse = torch.logsumexp(neg_sim, dim=1)  # (Nq, )
            terms = F.softplus(neg_lse[:, None] - sim)
            terms = torch.where(pos_mask & has_neg[:, None], terms,
                                torch.zeros_like(terms))
            # rows without positives are all zero: no indexing (no host
            # synchronisation on a GPU)
            num_pos = pos_mask.any(dim=1).sum().clamp(min=1)
            return self.loss_weight * terms.sum() / num_pos
