"""CiCo's clip-level mask head (CMH, paper Sec. 3.2) and clip masks."""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.utils import aligned_bilinear
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.clip_boxes import circumscribed_boxes
from ..utils.clip_features import clips_to_frames, frames_to_clips, per_frame
from ..utils.random_subset import random_subset


@MODELS.register_module()
class CiCoMaskHead(BaseModule):
    """Clip-level prototypes and the clip masks built from them.

    **Prototype net (CMH).** FPN levels ``start_level..end_level`` (P3-P5)
    each go through a 3x3 conv, are upsampled to P3's size and summed;
    then ``num_convs`` 3x3x3 3D convs, a deconv to 1/4 of the input
    (time kernel 1), a 1x3x3 and a 1x1x1 conv down to ``k`` prototype
    channels: ``(B, k, T, H/4, W/4)``, prototypes per frame sharing
    temporal context. ``conv_3d=False`` makes the level and 3x3x3 convs
    2D per frame (paper Table 1d). A 1xkxk 3D conv is a 2D conv on each
    frame, so those layers are 2D convs applied per frame (their weights
    load from 2D checkpoints as they are).

    **Clip masks.** ``mask_generator`` turns the prototypes and an
    object's mask parameters into its masks on all T frames:
    ``YolactClipMaskGenerator`` (Eq. 5, k = 32, CiCo-Yolact) or
    ``CondInstClipMaskGenerator`` (Eq. 6, k = 8, CiCo-CondInst); its
    ``num_protos`` sets ``k`` and its ``num_params`` the box head's
    parameter channels. Masks are localised by the object's circumscribed
    box over the clip (Eq. 4). The loss is the generator's clip-level BCE
    over all T frames (Eq. 8).

    Args:
        in_channels (int): FPN channels. Defaults to 256.
        feat_channels (int): Channels of the prototype net.
            Defaults to 256.
        start_level (int): First FPN level used (0 = P3). Defaults to 0.
        end_level (int): Last FPN level used. Defaults to 2 (P5).
        num_convs (int): 3x3x3 convs after the level sum. Defaults to 3.
        conv_3d (bool): 3D (True) or per-frame 2D level and 3x3x3 convs.
            Defaults to True.
        conv3d_cfg (dict): 3D conv layer. Defaults to
            ``dict(type='ReplicateTimeConv3d')``.
        norm_cfg (dict, optional): Norm of the convs. Defaults to None.
        proto_relu (bool): ReLU on the prototypes (YOLACT's protonet has
            it; CondInst's mask branch does not). Defaults to True.
        mask_generator (dict): The clip mask generator.
        max_masks_to_train (int): Positives per clip in the mask loss
            (random subset above it, as YOLACT). Defaults to 100.
        test_cfg (dict, optional): ``mask_thr`` (0.5).
        init_cfg (dict, optional): Initialisation config.
    """

    proto_stride = 4

    def __init__(
        self,
        in_channels: int = 256,
        feat_channels: int = 256,
        start_level: int = 0,
        end_level: int = 2,
        num_convs: int = 3,
        conv_3d: bool = True,
        conv3d_cfg: ConfigType = dict(type='ReplicateTimeConv3d'),
        norm_cfg: OptConfigType = None,
        proto_relu: bool = True,
        mask_generator: ConfigType = dict(
            type='YolactClipMaskGenerator', num_protos=32),
        max_masks_to_train: int = 100,
        test_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = dict(
            type='Kaiming',
            layer=['Conv2d', 'Conv3d', 'ConvTranspose2d'],
            a=1,
            distribution='uniform',
            mode='fan_in',
            nonlinearity='leaky_relu')
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 <= start_level <= end_level:
            raise ValueError(f'bad FPN levels {start_level}..{end_level}')
        self.start_level = start_level
        self.end_level = end_level
        self.conv_3d = conv_3d
        self.max_masks_to_train = max_masks_to_train
        self.test_cfg = test_cfg or dict()
        self.mask_generator = MODELS.build(mask_generator)
        num_protos = self.mask_generator.num_protos

        conv_cfg = conv3d_cfg if conv_3d else None
        self.level_convs = nn.ModuleList([
            ConvModule(
                in_channels,
                feat_channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg) for _ in range(start_level, end_level + 1)
        ])
        self.convs = nn.ModuleList([
            ConvModule(
                feat_channels,
                feat_channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg) for _ in range(num_convs)
        ])
        self.deconv = nn.ConvTranspose2d(
            feat_channels, feat_channels, 2, stride=2)
        self.conv_refine = ConvModule(
            feat_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.conv_proto = nn.Conv2d(feat_channels, num_protos, 1)
        self.proto_relu = proto_relu

    def _conv(self, conv: nn.Module, cube: Tensor) -> Tensor:
        return conv(cube) if self.conv_3d else per_frame(conv, cube)

    def forward(self, x: Sequence[Tensor]) -> Tensor:
        """Clip prototypes.

        Args:
            x (Sequence[Tensor]): FPN cubes, each (B, C, T, Hl, Wl).

        Returns:
            Tensor: (B, k, T, 2 * H3, 2 * W3), stride 4.
        """
        feats = x[self.start_level:self.end_level + 1]
        if len(feats) != len(self.level_convs):
            raise ValueError(f'expected at least {self.end_level + 1} FPN '
                             f'levels, got {len(x)}')
        num_frames = feats[0].size(2)
        fused = self._conv(self.level_convs[0], feats[0])
        for i, (feat, conv) in enumerate(
                zip(feats[1:], self.level_convs[1:]), start=1):
            up = aligned_bilinear(
                clips_to_frames(self._conv(conv, feat)), 2**i)
            up = frames_to_clips([up], num_frames)[0]
            fused = fused + up[..., :fused.size(-2), :fused.size(-1)]
        for conv in self.convs:
            fused = self._conv(conv, fused)
        fused = per_frame(self.deconv, fused).relu()
        fused = per_frame(self.conv_refine, fused)
        protos = per_frame(self.conv_proto, fused)
        return protos.relu() if self.proto_relu else protos

    def loss(self, protos: Tensor, positive_infos: List[InstanceData],
             batch_clip_gts: List[InstanceData]) -> Dict[str, Tensor]:
        """Clip-level mask loss (Eq. 8) of the positives of each clip.

        Args:
            protos (Tensor): (B, k, T, h, w).
            positive_infos (list[InstanceData]): Per clip, ``params``
                (M, P) and ``gt_inds`` (M, ) from the box head.
            batch_clip_gts (list[InstanceData]): Per clip, ``bboxes``
                (N, T, 4), ``valid`` (N, T), ``masks`` (N, T, H, W) at the
                padded input size.

        Returns:
            dict[str, Tensor]: ``loss_mask``, the mean over the used
            positives of all clips.
        """
        losses, counts = [], []
        for proto, pos, gts in zip(protos, positive_infos, batch_clip_gts):
            keep = random_subset(
                len(pos), self.max_masks_to_train, proto.device)
            if keep.numel() == 0:
                continue
            gt_inds = pos.gt_inds[keep]
            boxes = circumscribed_boxes(gts.bboxes[gt_inds],
                                        gts.valid[gt_inds])
            targets = F.interpolate(
                gts.masks[gt_inds].float(),
                size=proto.shape[-2:],
                mode='bilinear',
                align_corners=False).gt(0.5).float()
            logits = self.mask_generator(proto, pos.params[keep], boxes,
                                         self.proto_stride)
            losses.append(
                self.mask_generator.loss(logits, targets, boxes,
                                         self.proto_stride))
            counts.append(keep.numel())
        if not losses:
            return dict(loss_mask=protos.sum() * 0. +
                        sum(p.params.sum() * 0. for p in positive_infos))
        counts = protos.new_tensor(counts)
        loss = (torch.stack(losses) * counts).sum() / counts.sum()
        return dict(loss_mask=loss)

    def predict(self,
                protos: Tensor,
                dets: InstanceData,
                img_meta: dict,
                rescale: bool = True) -> Tensor:
        """Binary clip masks of one clip's detections.

        Args:
            protos (Tensor): (k, T, h, w) of the clip.
            dets (InstanceData): ``params`` (n, P) and ``clip_bboxes``
                (n, 4) in network-input pixels.
            img_meta (dict): ``img_shape``, ``ori_shape`` of the frames.
            rescale (bool): Masks at ``ori_shape`` (else ``img_shape``).

        Returns:
            Tensor: (n, T, H, W) bool.
        """
        num, num_frames = len(dets), protos.size(1)
        img_h, img_w = img_meta['img_shape'][:2]
        out_h, out_w = (
            img_meta['ori_shape'][:2] if rescale else (img_h, img_w))
        if num == 0:
            return protos.new_zeros((0, num_frames, out_h, out_w),
                                    dtype=torch.bool)
        logits = self.mask_generator(protos, dets.params, dets.clip_bboxes,
                                     self.proto_stride)
        probs = logits.sigmoid()
        crop = getattr(self.mask_generator, 'crop_masks', None)
        if crop is not None:
            probs = crop(probs, dets.clip_bboxes, self.proto_stride)
        probs = F.interpolate(
            probs,
            scale_factor=self.proto_stride,
            mode='bilinear',
            align_corners=False)[..., :img_h, :img_w]
        if (out_h, out_w) != (img_h, img_w):
            probs = F.interpolate(
                probs,
                size=(out_h, out_w),
                mode='bilinear',
                align_corners=False)
        return probs > self.test_cfg.get('mask_thr', 0.5)
