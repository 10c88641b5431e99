"""Clip masks of CiCo-CondInst: a dynamic 1x1x1 FCN (Eq. 6)."""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from ..utils.dynamic_params import (dynamic_layer_shapes, num_layer_params,
                                    split_dynamic_params)
from .clip_mask_loss import BaseClipMaskGenerator


@MODELS.register_module()
class CondInstClipMaskGenerator(BaseClipMaskGenerator):
    r"""CiCo-CondInst clip masks, Eq. 6.

    :math:`M_i = \sigma(FCN([P, \ddot{O}_i], \theta_i))`: per object,
    ``num_layers`` 1x1x1 convs (ReLU between, the last linear with one
    channel) whose weights and biases are its mask parameters, the same on
    every frame. The input is the relative coordinates (x, y), ``(box
    centre - mask pixel centre) / coord_scale`` in input pixels with the
    centre of the circumscribed box, then the k prototypes (mmdet's
    ``CondInstMaskHead`` order). Parameters: all weights ((out, in)
    row-major), then all biases; ``num_params = (k + 2) c + c +
    (num_layers - 2)(c c + c) + c + 1`` (169 for k = c = 8, 3 layers).

    Args:
        num_protos (int): Prototype channels k. Defaults to 8.
        channels (int): Hidden channels c of the FCN. Defaults to 8.
        num_layers (int): Dynamic 1x1x1 conv layers (>= 2). Defaults to 3.
        coord_scale (float): Normaliser of the relative coordinates, input
            pixels (mmdet CondInst's on P3). Defaults to 64.0.
        crop (bool): Crop as the authors' code (True) or Eq. 6's
            whole-map BCE mean and no test crop (False). Defaults to True.
        crop_scale (float): Enlargement of the loss crop. Defaults to 1.5.
        test_crop_scale (float): Enlargement of the test crop.
            Defaults to 1.5.
        min_crop_size (float): Minimum crop side, fraction of the image.
            Defaults to 0.1.
        crop_padding (int): Mask pixels around the crop. Defaults to 1.
        params_tanh (bool): Dynamic weights and biases through tanh (the
            authors' code; mmdet's CondInst: False). Defaults to True.
        loss_weight (float): :math:`\lambda_3`. Defaults to 1.0.

    Raises:
        ValueError: On ``num_protos`` or ``channels`` < 1,
            ``num_layers`` < 2 or ``coord_scale`` <= 0.
    """

    def __init__(self,
                 num_protos: int = 8,
                 channels: int = 8,
                 num_layers: int = 3,
                 coord_scale: float = 64.0,
                 crop: bool = True,
                 crop_scale: float = 1.5,
                 test_crop_scale: float = 1.5,
                 min_crop_size: float = 0.1,
                 crop_padding: int = 1,
                 params_tanh: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__(
            crop=crop,
            crop_scale=crop_scale,
            test_crop_scale=test_crop_scale,
            min_crop_size=min_crop_size,
            crop_padding=crop_padding,
            loss_weight=loss_weight)
        if num_protos < 1 or channels < 1 or num_layers < 2:
            raise ValueError('need num_protos >= 1, channels >= 1 and '
                             f'num_layers >= 2, got {num_protos}, '
                             f'{channels}, {num_layers}')
        if not coord_scale > 0:
            raise ValueError(f'coord_scale must be > 0, got {coord_scale}')
        self.num_protos = num_protos
        self.channels = channels
        self.num_layers = num_layers
        self.coord_scale = coord_scale
        self.params_tanh = params_tanh
        self.layer_shapes = dynamic_layer_shapes(num_protos + 2, channels,
                                                 num_layers)
        self.num_params = num_layer_params(self.layer_shapes)

    def parse_dynamic_params(
            self, params: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """Split mask parameters into per-layer weights and biases.

        Args:
            params (Tensor): Shape (N, num_params).

        Returns:
            tuple[list[Tensor], list[Tensor]]: Weights (N, out, in) and
            biases (N, out), one per layer.
        """
        return split_dynamic_params(params, self.layer_shapes)

    def relative_coords(self, boxes: Tensor, proto_stride: float,
                        height: int, width: int) -> Tensor:
        """Relative coordinate maps of Eq. 6, shape (N, 2, h, w), (x, y)."""
        assert proto_stride > 0, proto_stride
        xs = (torch.arange(width, device=boxes.device, dtype=boxes.dtype) +
              0.5) * proto_stride
        ys = (torch.arange(height, device=boxes.device, dtype=boxes.dtype) +
              0.5) * proto_stride
        centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
        centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
        rel_x = (centre_x[:, None] - xs) / self.coord_scale  # (N, w)
        rel_y = (centre_y[:, None] - ys) / self.coord_scale  # (N, h)
        num = boxes.size(0)
        return torch.stack([
            rel_x[:, None, :].expand(num, height, width),
            rel_y[:, :, None].expand(num, height, width)
        ], dim=1)

    def forward(self, protos: Tensor, params: Tensor, boxes: Tensor,
                proto_stride: float) -> Tensor:
        """Clip mask logits of the objects of one clip.

        Args:
            protos (Tensor): Clip prototypes, shape (k, T, h, w).
            params (Tensor): Raw mask parameters, shape (N, num_params).
            boxes (Tensor): Circumscribed boxes, shape (N, 4), x1y1x2y2 in
                input-image pixels.
            proto_stride (float): Input pixels per prototype pixel.

        Returns:
            Tensor: Logits, shape (N, T, h, w).
        """
        assert protos.dim() == 4 and protos.size(0) == self.num_protos, (
            f'protos {tuple(protos.shape)}, {self.num_protos} prototypes')
        assert boxes.shape == (params.size(0), 4), (
            f'boxes {tuple(boxes.shape)}, params {tuple(params.shape)}')
        weights, biases = self.parse_dynamic_params(
            params.tanh() if self.params_tanh else params)
        _, num_frames, height, width = protos.shape
        num = params.size(0)
        coords = self.relative_coords(
            boxes.to(protos.dtype), proto_stride, height, width)
        coords = coords[:, :, None].expand(-1, -1, num_frames, -1, -1)
        x = torch.cat([coords, protos[None].expand(num, -1, -1, -1, -1)],
                      dim=1).flatten(2)  # (N, 2 + k, T * h * w)
        # a 1x1x1 conv with per-object kernels is a batched matmul
        for layer, (w, b) in enumerate(zip(weights, biases)):
            x = torch.baddbmm(b[:, :, None], w, x)
            if layer < self.num_layers - 1:
                x = F.relu(x)
        return x.reshape(num, num_frames, height, width)
