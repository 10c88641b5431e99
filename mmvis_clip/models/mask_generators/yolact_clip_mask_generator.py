"""Clip masks of CiCo-Yolact: prototypes times coefficients (Eq. 5)."""
import torch
from mmdet.registry import MODELS
from torch import Tensor

from .clip_mask_loss import BaseClipMaskGenerator, box_region, crop_masks

__all__ = ['YolactClipMaskGenerator', 'box_region', 'crop_masks']


@MODELS.register_module()
class YolactClipMaskGenerator(BaseClipMaskGenerator):
    r"""CiCo-Yolact clip masks, Eq. 5.

    :math:`M_i = Crop(\sigma(P \theta_i), \ddot{B}_i)` with
    :math:`\theta_i = \tanh(params_i)`, the same coefficients on all T
    frames. :meth:`forward` gives the uncropped logits; :meth:`loss` and
    :meth:`crop_masks` crop by the circumscribed box.

    Args:
        num_protos (int): Prototype channels k. Defaults to 32.
        crop_scale (float): Enlargement of the loss crop. Defaults to 1.5.
        test_crop_scale (float): Enlargement of the test crop.
            Defaults to 1.1.
        min_crop_size (float): Minimum crop side, fraction of the image.
            Defaults to 0.1.
        crop_padding (int): Mask pixels around the crop. Defaults to 1.
        loss_weight (float): :math:`\lambda_3`. Defaults to 1.0.

    Raises:
        ValueError: If ``num_protos`` < 1 or a crop argument is invalid.
    """

    def __init__(self,
                 num_protos: int = 32,
                 crop_scale: float = 1.5,
                 test_crop_scale: float = 1.1,
                 min_crop_size: float = 0.1,
                 crop_padding: int = 1,
                 loss_weight: float = 1.0) -> None:
        super().__init__(
            crop=True,
            crop_scale=crop_scale,
            test_crop_scale=test_crop_scale,
            min_crop_size=min_crop_size,
            crop_padding=crop_padding,
            loss_weight=loss_weight)
        if num_protos < 1:
            raise ValueError(f'num_protos must be >= 1, got {num_protos}')
        self.num_protos = num_protos
        self.num_params = num_protos

    def forward(self, protos: Tensor, params: Tensor, boxes: Tensor,
                proto_stride: float) -> Tensor:
        """Clip mask logits of the objects of one clip.

        Args:
            protos (Tensor): Clip prototypes, shape (k, T, h, w).
            params (Tensor): Raw mask parameters, shape (N, k).
            boxes (Tensor): Circumscribed boxes, shape (N, 4); unused.
            proto_stride (float): Unused.

        Returns:
            Tensor: Logits, shape (N, T, h, w).
        """
        assert protos.dim() == 4 and protos.size(0) == self.num_protos, (
            f'protos {tuple(protos.shape)}, {self.num_protos} prototypes')
        assert params.dim() == 2 and params.size(1) == self.num_params, (
            f'params {tuple(params.shape)}, {self.num_params} per object')
        return torch.einsum('nk,kthw->nthw', params.tanh(), protos)
