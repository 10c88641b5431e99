"""CiCo's clip-level mask head (CMH, paper Sec. 3.2) and clip masks."""
from typing import Dict, List, Optional, Sequence

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

from ..mask_generators import frame_decay_weights
from ..utils.clip_boxes import circumscribed_boxes
from ..utils.clip_features import clips_to_frames, frames_to_clips, per_frame
from ..utils.random_subset import random_subset


@MODELS.register_module()
class CiCoMaskHead(BaseModule):
    """Clip-level prototypes and the clip masks built from them.

    Prototype net (CMH, Sec. 3.2, Fig. 2c): a 3x3 conv per FPN level
    (``start_level..end_level``), upsampled to the first and summed;
    ``num_convs`` 3x3x3 convs; x2 upsampling; a 1x3x3 and a 1x1x1 conv (2D
    per frame, loading 2D weights as they are) to ``k`` channels:
    ``(B, k, T, H/4, W/4)``. Every conv but the last has ``norm_cfg`` (2D
    ``BN`` becomes ``BN3d`` on 3D convs) and a ReLU. ``mask_generator``
    turns prototypes, mask parameters and the circumscribed box (Eq. 4)
    into masks on all T frames (Eq. 5 or 6); its ``num_protos`` sets ``k``.
    Loss (Eq. 8): the generator's clip BCE per positive, frames weighted
    ``frame_decay^|t - f|`` (``f`` the positive's row frame), averaged over
    a clip's positives and over the clips.

    Args:
        in_channels (int): FPN channels. Defaults to 256.
        feat_channels (int): Prototype-net channels. Defaults to 256.
        start_level (int): First FPN level used (0 = P3). Defaults to 0.
        end_level (int): Last FPN level used. Defaults to 2 (P5).
        num_convs (int): 3x3x3 convs after the level sum. Defaults to 3.
        conv_3d (bool): 3D or per-frame 2D convs (Table 1d). Defaults to True.
        level_conv_3d (bool): 3D level convs (with ``conv_3d``). Defaults to
            False.
        conv3d_cfg (dict): 3D conv layer. Defaults to
            ``dict(type='ReplicateTimeConv3d')``.
        norm_cfg (dict, optional): Norm after the convs. Defaults to None.
        upsample (str): ``'deconv'`` (2x2 stride-2 transposed conv + ReLU)
            or ``'bilinear'``. Defaults to ``'deconv'``.
        proto_relu (bool): ReLU on the prototypes. Defaults to True.
        mask_generator (dict): The clip mask generator. Defaults to
            ``YolactClipMaskGenerator`` with 32 prototypes.
        max_masks_to_train (int, optional): Positives per clip in the mask
            loss (a random subset above it); None: all. Defaults to None.
        frame_decay (float): Base of the frame weights, in (0, 1].
            Defaults to 0.9.
        clip_average (bool): Average the per-clip losses over the clips (a
            clip without positives counts 0); False: over all positives.
            Defaults to True.
        render_chunk (int): Objects rendered at a time at full resolution
            (bounds peak memory). Defaults to 16.
        test_cfg (dict, optional): ``mask_thr`` (0.5).
        init_cfg (dict, optional): Initialisation config.

    Raises:
        ValueError: On bad levels, ``upsample``, ``frame_decay`` or
            ``render_chunk``.
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
        level_conv_3d: bool = False,
        conv3d_cfg: ConfigType = dict(type='ReplicateTimeConv3d'),
        norm_cfg: OptConfigType = None,
        upsample: str = 'deconv',
        proto_relu: bool = True,
        mask_generator: ConfigType = dict(
            type='YolactClipMaskGenerator', num_protos=32),
        max_masks_to_train: Optional[int] = None,
        frame_decay: float = 0.9,
        clip_average: bool = True,
        render_chunk: int = 16,
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
        if upsample not in ('deconv', 'bilinear'):
            raise ValueError(
                f"upsample must be 'deconv' or 'bilinear', got {upsample!r}")
        if not 0 < frame_decay <= 1 or render_chunk < 1:
            raise ValueError('need 0 < frame_decay <= 1 and render_chunk >= '
                             f'1, got {frame_decay}, {render_chunk}')
        self.start_level = start_level
        self.end_level = end_level
        self.conv_3d = conv_3d
        self.level_conv_3d = conv_3d and level_conv_3d
        self.upsample = upsample
        self.max_masks_to_train = max_masks_to_train
        self.frame_decay = frame_decay
        self.clip_average = clip_average
        self.render_chunk = render_chunk
        self.test_cfg = test_cfg or dict()
        self.mask_generator = MODELS.build(mask_generator)
        num_protos = self.mask_generator.num_protos

        def conv(is_3d: bool, channels: int = feat_channels) -> ConvModule:
            return ConvModule(
                channels,
                feat_channels,
                3,
                padding=1,
                conv_cfg=conv3d_cfg if is_3d else None,
                norm_cfg=_norm_3d(norm_cfg) if is_3d else norm_cfg)

        self.level_convs = nn.ModuleList([
            conv(self.level_conv_3d, in_channels)
            for _ in range(start_level, end_level + 1)
        ])
        self.convs = nn.ModuleList([conv(conv_3d) for _ in range(num_convs)])
        if upsample == 'deconv':
            self.deconv = nn.ConvTranspose2d(
                feat_channels, feat_channels, 2, stride=2)
        self.conv_refine = conv(False)
        self.conv_proto = nn.Conv2d(feat_channels, num_protos, 1)
        self.proto_relu = proto_relu

    def _conv(self, conv: nn.Module, cube: Tensor, is_3d: bool) -> Tensor:
        return conv(cube) if is_3d else per_frame(conv, cube)

    def _upsample(self, frames: Tensor) -> Tensor:
        """x2 upsampling of (N, C, h, w) frames, ``upsample``."""
        if self.upsample == 'deconv':
            return self.deconv(frames).relu()
        return F.interpolate(
            frames, scale_factor=2, mode='bilinear', align_corners=True)

    def forward(self, x: Sequence[Tensor]) -> Tensor:
        """Clip prototypes.

        Args:
            x (Sequence[Tensor]): FPN cubes, each (B, C, T, Hl, Wl).

        Returns:
            Tensor: (B, k, T, 2 * H3, 2 * W3), stride 4.
        """
        feats = x[self.start_level:self.end_level + 1]
        assert len(feats) == len(self.level_convs), (
            f'{len(x)} FPN levels, need {self.end_level + 1}')
        num_frames = feats[0].size(2)
        fused = self._conv(self.level_convs[0], feats[0], self.level_conv_3d)
        for i, (feat, conv) in enumerate(
                zip(feats[1:], self.level_convs[1:]), start=1):
            up = aligned_bilinear(
                clips_to_frames(self._conv(conv, feat, self.level_conv_3d)),
                2**i)
            up = frames_to_clips([up], num_frames)[0]
            fused = fused + up[..., :fused.size(-2), :fused.size(-1)]
        for conv in self.convs:
            fused = self._conv(conv, fused, self.conv_3d)
        fused = per_frame(self._upsample, fused)
        fused = per_frame(self.conv_refine, fused)
        protos = per_frame(self.conv_proto, fused)
        return protos.relu() if self.proto_relu else protos

    def loss(self, protos: Tensor, positive_infos: List[InstanceData],
             batch_clip_gts: List[InstanceData]) -> Dict[str, Tensor]:
        """Clip-level mask loss (Eq. 8) of the positives of each clip.

        Args:
            protos (Tensor): (B, k, T, h, w).
            positive_infos (list[InstanceData]): Per clip, ``params``
                (M, P), ``gt_inds`` (M, ) and optionally ``row_frames``
                (M, ) long: each positive's row frame in [0, T), or -1 for
                one row per clip (the default).
            batch_clip_gts (list[InstanceData]): Per clip, ``bboxes``
                (N, T, 4), ``valid`` (N, T), ``masks`` (N, T, H, W) at the
                padded input size.

        Returns:
            dict[str, Tensor]: ``loss_mask``.
        """
        num_frames = protos.size(2)
        losses, counts = [], []
        for proto, pos, gts in zip(protos, positive_infos, batch_clip_gts):
            keep = random_subset(
                len(pos), self.max_masks_to_train, proto.device)
            if keep.numel() == 0:
                continue
            gt_inds = pos.gt_inds[keep]
            if 'row_frames' in pos:
                row_frames = pos.row_frames[keep].long()
            else:
                row_frames = gt_inds.new_full(gt_inds.shape, -1).long()
            boxes = circumscribed_boxes(gts.bboxes[gt_inds],
                                        gts.valid[gt_inds])
            # each object downsampled once, then gathered per positive
            # (not the full-resolution masks once per positive)
            targets = F.interpolate(
                gts.masks.float(),
                size=proto.shape[-2:],
                mode='bilinear',
                align_corners=False).gt(0.5)[gt_inds].float()
            logits = self.mask_generator(proto, pos.params[keep], boxes,
                                         self.proto_stride)
            weights = frame_decay_weights(row_frames, num_frames,
                                          self.frame_decay)
            losses.append(
                self.mask_generator.loss(logits, targets, boxes,
                                         self.proto_stride, weights))
            counts.append(keep.numel())
        if not losses:
            return dict(loss_mask=protos.sum() * 0. +
                        sum(p.params.sum() * 0. for p in positive_infos))
        losses = torch.stack(losses)
        if self.clip_average:
            loss = losses.sum() / len(positive_infos)
        else:
            counts = losses.new_tensor(counts)
            loss = (losses * counts).sum() / counts.sum()
        return dict(loss_mask=loss)

    def render(self,
               protos: Tensor,
               params: Tensor,
               boxes: Tensor,
               img_meta: dict,
               rescale: bool = True,
               crop_scale: Optional[float] = None,
               min_crop_size: Optional[float] = None) -> Tensor:
        """Binary clip masks of arbitrary mask parameters and boxes.

        The generator's logits, sigmoid, its test-time crop, x4 to the
        padded input, cut to ``img_shape``, resized to ``ori_shape`` with
        ``rescale``, thresholded at ``mask_thr``; ``render_chunk`` objects
        at a time.

        Args:
            protos (Tensor): (k, T, h, w) of the clip.
            params (Tensor): (m, P) mask parameters.
            boxes (Tensor): (m, 4) circumscribed boxes in network-input
                pixels (not enlarged).
            img_meta (dict): ``img_shape``, ``ori_shape`` of the frames.
            rescale (bool): Masks at ``ori_shape`` (else ``img_shape``).
            crop_scale (float, optional): Box enlargement of the crop;
                default the generator's ``test_crop_scale``.
            min_crop_size (float, optional): Minimum crop side as a
                fraction of the image; default the generator's.

        Returns:
            Tensor: (m, T, H, W) bool.
        """
        assert protos.dim() == 4 and boxes.shape == (params.size(0), 4), \
            (protos.shape, params.shape, boxes.shape)
        num, num_frames = params.size(0), protos.size(1)
        img_h, img_w = img_meta['img_shape'][:2]
        out_h, out_w = (
            img_meta['ori_shape'][:2] if rescale else (img_h, img_w))
        thr = self.test_cfg.get('mask_thr', 0.5)
        masks = protos.new_zeros((num, num_frames, out_h, out_w),
                                 dtype=torch.bool)
        for start in range(0, num, self.render_chunk):
            part = slice(start, start + self.render_chunk)
            probs = self._cropped_probs(protos, params[part], boxes[part],
                                        crop_scale, min_crop_size)
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
            masks[part] = probs > thr
        return masks

    def _cropped_probs(self, protos: Tensor, params: Tensor, boxes: Tensor,
                       crop_scale: Optional[float],
                       min_crop_size: Optional[float]) -> Tensor:
        """Mask probabilities at prototype resolution, cropped as at test:
        (m, T, h, w)."""
        logits = self.mask_generator(protos, params, boxes, self.proto_stride)
        return self.mask_generator.crop_masks(logits.sigmoid(), boxes,
                                              self.proto_stride, crop_scale,
                                              min_crop_size)

    def proto_masks(self, protos: Tensor, params: Tensor,
                    boxes: Tensor) -> Tensor:
        """Binary masks at prototype resolution (the test-time filters and
        NMS compare them), ``render_chunk`` objects at a time.

        Args:
            protos (Tensor): (k, T, h, w) of the clip.
            params (Tensor): (m, P) mask parameters.
            boxes (Tensor): (m, 4) circumscribed boxes, input pixels.

        Returns:
            Tensor: (m, T, h, w) bool, thresholded at ``mask_thr``.
        """
        thr = self.test_cfg.get('mask_thr', 0.5)
        masks = protos.new_zeros((params.size(0), ) + protos.shape[1:],
                                 dtype=torch.bool)
        for start in range(0, params.size(0), self.render_chunk):
            part = slice(start, start + self.render_chunk)
            masks[part] = self._cropped_probs(protos, params[part],
                                              boxes[part], None, None) > thr
        return masks

    def predict(self,
                protos: Tensor,
                dets: InstanceData,
                img_meta: dict,
                rescale: bool = True) -> Tensor:
        """Binary clip masks of one clip's detections (:meth:`render`).

        Args:
            protos (Tensor): (k, T, h, w) of the clip.
            dets (InstanceData): ``params`` (n, P) and ``clip_bboxes``
                (n, 4) in network-input pixels.
            img_meta (dict): ``img_shape``, ``ori_shape`` of the frames.
            rescale (bool): Masks at ``ori_shape`` (else ``img_shape``).

        Returns:
            Tensor: (n, T, H, W) bool.
        """
        return self.render(protos, dets.params, dets.clip_bboxes, img_meta,
                           rescale)


def _norm_3d(norm_cfg: OptConfigType) -> OptConfigType:
    """The norm config of a 3D conv: 2D batch norm becomes ``BN3d``."""
    if norm_cfg is None or norm_cfg.get('type') not in ('BN', 'BN2d'):
        return norm_cfg
    return dict(norm_cfg, type='BN3d')
