"""CondInst dynamic mask head with the options STC ablates."""
from typing import List, Tuple

import torch
from mmdet.models.dense_heads import CondInstMaskHead
from mmdet.models.utils import aligned_bilinear
from mmdet.registry import MODELS
from mmengine.structures import InstanceData
from torch import Tensor


def num_dynamic_params(mask_channels: int,
                       feat_channels: int,
                       num_layers: int,
                       with_coords: bool = True) -> int:
    """Number of dynamic parameters a kernel generator must predict.

    Layer 1 maps ``mask_channels (+2 relative coordinates)`` to
    ``feat_channels``, middle layers ``feat_channels`` to
    ``feat_channels``, the last layer to 1 channel; each has a bias.
    CondInst's default (8, 8, 3 layers, coords) gives 169.
    """
    in_channels = mask_channels + (2 if with_coords else 0)
    if num_layers == 1:
        return in_channels + 1
    return (in_channels * feat_channels + feat_channels + (num_layers - 2) *
            (feat_channels * feat_channels + feat_channels) + feat_channels +
            1)


@MODELS.register_module()
class STCMaskHead(CondInstMaskHead):
    """CondInst mask head whose mask-branch width, dynamic depth and
    relative coordinates can be changed (STC Tables 6 and 7).

    Same weights and outputs as mmdet's :class:`CondInstMaskHead` for the
    CondInst setting. Differences:

    - ``with_coords=False`` drops the two relative-coordinate channels
      from the dynamic head's input (Table 7 "Coord.").
    - the dynamic parameters are parsed by the dynamic head's own width
      (``feat_channels``); mmdet reshapes them by the mask-branch width,
      which only works when both are equal (8 and 8), so Table 7's 1, 4
      and 16 mask-branch channels would fail there.
    - ``num_layers=1`` (Table 6, one dynamic conv) is supported.

    Args:
        with_coords (bool): Append relative coordinates to the mask
            features. Defaults to True.
        **kwargs: Arguments of :class:`CondInstMaskHead`.
    """

    def __init__(self, *args, with_coords: bool = True, **kwargs) -> None:
        self.with_coords = with_coords
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        """Count the dynamic weights and biases of each layer."""
        in_channels = self.in_channels + (2 if self.with_coords else 0)
        weight_nums, bias_nums = [], []
        for i in range(self.num_layers):
            layer_in = in_channels if i == 0 else self.feat_channels
            layer_out = 1 if i == self.num_layers - 1 else self.feat_channels
            weight_nums.append(layer_in * layer_out)
            bias_nums.append(layer_out)
        self.weight_nums = weight_nums
        self.bias_nums = bias_nums
        self.num_params = sum(weight_nums) + sum(bias_nums)
        assert self.num_params == num_dynamic_params(self.in_channels,
                                                     self.feat_channels,
                                                     self.num_layers,
                                                     self.with_coords)

    def parse_dynamic_params(
            self, params: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """Split (N, num_params) into grouped 1x1 conv weights/biases."""
        num_insts = params.size(0)
        splits = list(
            torch.split_with_sizes(
                params, self.weight_nums + self.bias_nums, dim=1))
        weights = splits[:self.num_layers]
        biases = splits[self.num_layers:]
        for i in range(self.num_layers):
            out = 1 if i == self.num_layers - 1 else self.feat_channels
            weights[i] = weights[i].reshape(num_insts * out, -1, 1, 1)
            biases[i] = biases[i].reshape(num_insts * out)
        return weights, biases

    def forward_single(self, mask_feat: Tensor,
                       positive_info: InstanceData) -> Tuple[Tensor]:
        """Masks of one image's instances, (N, H, W) at mask_out_stride."""
        if self.with_coords:
            return super().forward_single(mask_feat, positive_info)
        pos_param_preds = positive_info.get('param_preds')
        num_inst = pos_param_preds.shape[0]
        _, h, w = mask_feat.size()
        if num_inst == 0:
            return (pos_param_preds.new_zeros((0, h, w)), )
        mask_head_inputs = mask_feat[None].repeat(num_inst, 1, 1, 1)
        mask_head_inputs = mask_head_inputs.reshape(1, -1, h, w)
        weights, biases = self.parse_dynamic_params(pos_param_preds)
        mask_preds = self.dynamic_conv_forward(mask_head_inputs, weights,
                                               biases, num_inst)
        mask_preds = mask_preds.reshape(-1, h, w)
        mask_preds = aligned_bilinear(
            mask_preds.unsqueeze(0),
            int(self.mask_feat_stride / self.mask_out_stride)).squeeze(0)
        return (mask_preds, )
