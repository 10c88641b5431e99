"""Temporal consistency loss on dynamic kernels of STC (Eq. 6)."""
import torch.nn as nn
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class KernelConsistencyLoss(nn.Module):
    r"""Temporal consistency of dynamic mask-head parameters, Eq. 6 of STC.

    .. math::

        L_{consistency} = \| \theta_{x,y} - \theta^{ref}_{\hat x,\hat y}
                          \|^2

    for pairs of positive locations of the same instance in the input and
    the reference frame. The squared L2 distance of each pair (row) is
    averaged over the pairs and multiplied by ``loss_weight``
    (:math:`\lambda_c = 10` in STC, Eq. 7). With no pair the loss is a
    zero connected to the graph of the inputs.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, params: Tensor, ref_params: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            params (Tensor): Dynamic parameters in the input frame,
                shape (N, P).
            ref_params (Tensor): Parameters of the same instances in the
                reference frame, shape (N, P), row ``i`` paired with row
                ``i`` of ``params``.

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
