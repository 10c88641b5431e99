"""CondInst dynamic mask head with the options STC ablates."""
from typing import List, Tuple

from mmdet.models.dense_heads import CondInstMaskHead
from mmdet.models.utils import aligned_bilinear
from mmdet.registry import MODELS
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.dynamic_params import (dynamic_layer_shapes, num_layer_params,
                                    split_dynamic_params)


def num_dynamic_params(mask_channels: int,
                       feat_channels: int,
                       num_layers: int,
                       with_coords: bool = True) -> int:
    """Dynamic parameters a kernel generator predicts; 169 for CondInst's
    ``(8, 8, 3)`` with coordinates."""
    return num_layer_params(
        dynamic_layer_shapes(mask_channels + (2 if with_coords else 0),
                             feat_channels, num_layers))


@MODELS.register_module()
class STCMaskHead(CondInstMaskHead):
    """CondInst mask head with the options of STC Tables 6 and 7.

    Equal to mmdet's :class:`CondInstMaskHead` in the CondInst setting; also
    takes ``num_layers=1`` (Table 6), mask-branch widths other than
    ``feat_channels`` (Table 7) and ``with_coords=False`` (Table 7
    "Coord.").

    Args:
        with_coords (bool): Append relative coordinates to the mask
            features. Defaults to True.
        **kwargs: Arguments of :class:`CondInstMaskHead`.
    """

    def __init__(self, *args, with_coords: bool = True, **kwargs) -> None:
        self.with_coords = with_coords
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        """The dynamic layers' shapes and parameter count."""
        self.layer_shapes = dynamic_layer_shapes(
            self.in_channels + (2 if self.with_coords else 0),
            self.feat_channels, self.num_layers)
        self.num_params = num_layer_params(self.layer_shapes)

    def parse_dynamic_params(
            self, params: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """Split (N, num_params) into grouped 1x1 conv weights
        (N * out, in, 1, 1) and biases (N * out, ), as mmdet's
        ``dynamic_conv_forward`` takes them."""
        weights, biases = split_dynamic_params(params, self.layer_shapes)
        return ([w.reshape(-1, w.size(2), 1, 1) for w in weights],
                [b.reshape(-1) for b in biases])

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
