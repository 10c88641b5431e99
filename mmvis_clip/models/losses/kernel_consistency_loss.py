"""Temporal consistency loss on dynamic kernels of STC (Eq. 6)."""
import torch.nn as nn
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class KernelConsistencyLoss(nn.Module):
    r"""Temporal consistency of dynamic mask-head parameters, Eq. 6 of STC.

    :math:`\| \theta_{x,y} - \theta^{ref}_{\hat x,\hat y} \|^2` over
    pairs of positive locations of one instance in the input and the
    reference frame, averaged over the pairs (zero when there is none).

    Args:
        loss_weight (float): :math:`\lambda_c` (10 in Eq. 7).
            Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, params: Tensor, ref_params: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            params (Tensor): Dynamic parameters in the input frame, (N, P).
            ref_params (Tensor): Those of the paired reference-frame
                locations, (N, P), row ``i`` paired with row ``i``.

        Returns:
            Tensor: Scalar loss.
        """
        if params.dim() != 2 or params.shape != ref_params.shape:
            raise ValueError('params and ref_params must both be (N, P) '
                             f'tensors, got {tuple(params.shape)} and '
                             f'{tuple(ref_params.shape)}')
        if params.size(0) == 0:
            return (params.sum() + ref_params.sum()) * 0.
        dist = (params - ref_params).pow(2).sum(dim=1)
        return self.loss_weight * dist.mean()
