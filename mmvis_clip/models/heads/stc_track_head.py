"""Tracking head of STC: a dense embedding map and its training losses."""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.utils import aligned_bilinear
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from ..task_modules.embedding_sampling import (assignment_to_grid,
                                               grid_cells_in_boxes,
                                               grid_cells_in_image,
                                               sample_embeddings_at_points)


@MODELS.register_module()
class STCTrackHead(BaseModule):
    """STC tracking head (Sec. 3.3) with its spatio-temporal losses.

    Each FPN level ``start_level..end_level`` goes through ``num_convs``
    3x3 convs; the levels are upsampled to the finest (``aligned_bilinear``),
    summed and mapped by a 1x1 conv to one ``embed_dim`` map at the finest
    stride, compared by dot product (Eq. 2-3). Queries are read bilinearly
    at the centres of the boxes predicted at a frame's positive locations.
    With ``contrastive`` the loss is Eq. 3-4 (:class:`MultiPosContrastiveLoss`)
    against the cells of the other frame's map: positives from its label
    assignment, negatives from ``train_cfg.sampler``. Without, it is
    MaskTrack R-CNN's matching loss (Tables 4-5 baseline): a softmax over
    ``[0, q·k_1, ..., q·k_M]``, keys at the other frame's ground-truth box
    centres, target the same instance or 0 (new). ``bidirectional``
    averages both directions (Eq. 5).

    Args:
        in_channels (int): Channels of the FPN features. Defaults to 256.
        feat_channels (int): Channels of the level convs. Defaults to 256.
        num_convs (int): 3x3 conv layers per level. Defaults to 2.
        embed_dim (int): Embedding channels. Defaults to 256 (Table 5).
        start_level (int): First FPN output used. Defaults to 0 (P3).
        end_level (int): Last FPN output used. Defaults to 2 (P5).
        strides (Sequence[int]): Strides of the FPN outputs.
            Defaults to (8, 16, 32, 64, 128).
        contrastive (bool): Contrastive (True) or matching (False) loss.
            Defaults to True.
        bidirectional (bool): Use Eq. 5. Defaults to True.
        loss_track (dict): Loss config. Defaults to
            ``MultiPosContrastiveLoss`` with weight 0.2 (lambda_b).
        conv_cfg (dict, optional): Conv config. Defaults to None.
        norm_cfg (dict, optional): Norm config. Defaults to None.
        detach_features (bool): Stop the tracking losses' gradients at the
            FPN outputs (not in the paper; see ``configs/stc/README.md``).
            Defaults to False.
        train_cfg (dict, optional): ``sampler``: the negative sampler.
            Defaults to ``ContrastivePairSampler(num_negatives=128,
            neg_in_box=False)``.
        test_cfg (dict, optional): Unused. Defaults to None.
        init_cfg (dict, optional): Initialization config.

    Raises:
        ValueError: If the levels do not index ``strides``.
    """

    def __init__(self,
                 in_channels: int = 256,
                 feat_channels: int = 256,
                 num_convs: int = 2,
                 embed_dim: int = 256,
                 start_level: int = 0,
                 end_level: int = 2,
                 strides: Sequence[int] = (8, 16, 32, 64, 128),
                 contrastive: bool = True,
                 bidirectional: bool = True,
                 loss_track: ConfigType = dict(
                     type='MultiPosContrastiveLoss', loss_weight=0.2),
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 detach_features: bool = False,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 <= start_level <= end_level < len(strides):
            raise ValueError(f'start_level {start_level} and end_level '
                             f'{end_level} must index strides {strides}')
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.num_convs = num_convs
        self.embed_dim = embed_dim
        self.start_level = start_level
        self.end_level = end_level
        self.strides = tuple(strides)
        self.embed_stride = self.strides[start_level]
        self.contrastive = contrastive
        self.bidirectional = bidirectional
        self.detach_features = detach_features
        self.loss_track = MODELS.build(loss_track)
        if train_cfg is None:
            train_cfg = dict(
                sampler=dict(
                    type='ContrastivePairSampler',
                    num_negatives=128,
                    neg_in_box=False))
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.sampler = TASK_UTILS.build(train_cfg['sampler'])

        self.level_convs = nn.ModuleList()
        for _ in range(start_level, end_level + 1):
            convs = []
            for i in range(num_convs):
                convs.append(
                    ConvModule(
                        in_channels if i == 0 else feat_channels,
                        feat_channels,
                        3,
                        padding=1,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg))
            self.level_convs.append(nn.Sequential(*convs))
        fused_channels = feat_channels if num_convs > 0 else in_channels
        self.conv_embed = nn.Conv2d(fused_channels, embed_dim, 1)

    def forward(self, x: Sequence[Tensor]) -> Tensor:
        """Embedding map from FPN features.

        Args:
            x (Sequence[Tensor]): FPN outputs, each (B, C, Hl, Wl).

        Returns:
            Tensor: (B, embed_dim, H, W) at ``embed_stride``.
        """
        feats = x[self.start_level:self.end_level + 1]
        if len(feats) != len(self.level_convs):
            raise ValueError(f'expected at least {self.end_level + 1} FPN '
                             f'levels, got {len(x)}')
        if self.detach_features:
            feats = [feat.detach() for feat in feats]
        fused = self.level_convs[0](feats[0])
        for level, (feat, convs) in enumerate(
                zip(feats[1:], self.level_convs[1:]), start=1):
            factor = self.strides[self.start_level + level] // \
                self.embed_stride
            up = aligned_bilinear(convs(feat), factor)
            fused = fused + up[..., :fused.size(-2), :fused.size(-1)]
        return self.conv_embed(fused)

    def embeddings_at_boxes(self, embed_map: Tensor, bboxes: Tensor) -> Tensor:
        """Embeddings at box centres.

        Args:
            embed_map (Tensor): Map of one image, (embed_dim, H, W).
            bboxes (Tensor): Boxes (x1, y1, x2, y2) in the network input's
                pixels, (N, 4).

        Returns:
            Tensor: (N, embed_dim).
        """
        centres = (bboxes[:, :2] + bboxes[:, 2:4]) / 2
        return sample_embeddings_at_points(embed_map, centres,
                                           self.embed_stride)

    def loss(self, embed_maps: Tensor, ref_embed_maps: Tensor,
             pos_infos: List[InstanceData], ref_pos_infos: List[InstanceData],
             batch_gt_instances: List[InstanceData],
             ref_batch_gt_instances: List[InstanceData],
             batch_img_metas: List[dict],
             ref_batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Tracking loss of a batch of (input, reference) frame pairs.

        Args:
            embed_maps (Tensor): Input-frame maps, (B, D, H, W).
            ref_embed_maps (Tensor): Reference-frame maps, (B, D, H, W).
            pos_infos (list[InstanceData]): Per input frame, the positive
                locations' ``points`` (P, 2), ``query_points`` (P, 2, the
                predicted box centres, pixels) and ``gt_inds`` (P, ).
            ref_pos_infos (list[InstanceData]): Same for the reference
                frames.
            batch_gt_instances (list[InstanceData]): Input-frame ground
                truth with ``bboxes`` (M, 4) and ``instances_ids`` (M, ).
            ref_batch_gt_instances (list[InstanceData]): Same for the
                reference frames.
            batch_img_metas (list[dict]): Input-frame metas (``img_shape``).
            ref_batch_img_metas (list[dict]): Reference-frame metas.

        Returns:
            dict[str, Tensor]: ``loss_track``.
        """
        loss = self._loss_one_direction(embed_maps, ref_embed_maps, pos_infos,
                                        ref_pos_infos, batch_gt_instances,
                                        ref_batch_gt_instances,
                                        ref_batch_img_metas)
        if self.bidirectional:
            backward = self._loss_one_direction(ref_embed_maps, embed_maps,
                                                ref_pos_infos, pos_infos,
                                                ref_batch_gt_instances,
                                                batch_gt_instances,
                                                batch_img_metas)
            loss = 0.5 * (loss + backward)
        return dict(loss_track=loss)

    def _loss_one_direction(self, query_maps: Tensor, key_maps: Tensor,
                            query_pos_infos: List[InstanceData],
                            key_pos_infos: List[InstanceData],
                            query_gts: List[InstanceData],
                            key_gts: List[InstanceData],
                            key_img_metas: List[dict]) -> Tensor:
        """Eq. 4 with queries from one frame and keys from the other."""
        queries, query_ids = [], []
        for query_map, pos_info, gts in zip(query_maps, query_pos_infos,
                                            query_gts):
            queries.append(
                sample_embeddings_at_points(query_map, pos_info.query_points,
                                            self.embed_stride))
            query_ids.append(gts.instances_ids[pos_info.gt_inds.long()])
        if self.contrastive:
            return self._contrastive_loss(queries, query_ids, key_maps,
                                          key_pos_infos, key_gts,
                                          key_img_metas)
        return self._matching_loss(queries, query_ids, key_maps, key_gts)

    def _contrastive_loss(self, queries: List[Tensor], query_ids: List[Tensor],
                          key_maps: Tensor, key_pos_infos: List[InstanceData],
                          key_gts: List[InstanceData],
                          key_img_metas: List[dict]) -> Tensor:
        """Eq. 4 over the batch, queries of image ``b`` against the keys of
        image ``b`` only."""
        grid_hw = key_maps.shape[-2:]
        keys, pos_masks, neg_masks = [], [], []
        for query_id, key_map, pos_info, gts, meta in zip(
                query_ids, key_maps, key_pos_infos, key_gts, key_img_metas):
            num_gts = len(gts)
            assign = assignment_to_grid(pos_info.points, pos_info.gt_inds,
                                        num_gts, self.embed_stride, grid_hw)
            in_box = grid_cells_in_boxes(gts.bboxes, self.embed_stride,
                                         grid_hw)
            valid = grid_cells_in_image(meta['img_shape'][:2],
                                        self.embed_stride, grid_hw,
                                        key_map.device)
            pos_mask, neg_mask = self.sampler.sample(query_id,
                                                     gts.instances_ids, assign,
                                                     in_box, valid)
            keys.append(key_map.flatten(1).t())
            pos_masks.append(pos_mask)
            neg_masks.append(neg_mask)
        pos_mask = torch.block_diag(*[m.to(torch.uint8)
                                      for m in pos_masks]).bool()
        neg_mask = torch.block_diag(*[m.to(torch.uint8)
                                      for m in neg_masks]).bool()
        return self.loss_track(
            torch.cat(queries), torch.cat(keys), pos_mask, neg_mask)

    def _matching_loss(self, queries: List[Tensor], query_ids: List[Tensor],
                       key_maps: Tensor,
                       key_gts: List[InstanceData]) -> Tensor:
        """MaskTrack R-CNN's matching loss (the no-contrastive baseline)."""
        logits, targets = [], []
        max_gts = max(len(gts) for gts in key_gts)
        for query, query_id, key_map, gts in zip(queries, query_ids, key_maps,
                                                 key_gts):
            keys = self.embeddings_at_boxes(key_map, gts.bboxes)
            logit = query.new_zeros((query.size(0), max_gts + 1))
            # columns of absent ground truths stay out of the softmax
            logit[:, len(gts) + 1:] = float('-inf')
            logit[:, 1:len(gts) + 1] = query @ keys.t()
            match = query_id[:, None] == gts.instances_ids[None, :]
            # a reference frame without ground truth: every query is "new"
            # (argmax over zero columns would raise)
            target = torch.where(
                match.any(dim=1),
                match.float().argmax(dim=1) + 1,
                torch.zeros_like(query_id)).long() if len(gts) else \
                torch.zeros_like(query_id, dtype=torch.long)
            logits.append(logit)
            targets.append(target)
        logits = torch.cat(logits)
        targets = torch.cat(targets)
        if logits.size(0) == 0:
            return sum(q.sum() for q in queries) * 0. + key_maps.sum() * 0.
        avg_factor = max(float((targets > 0).sum()), 1.)
        return self.loss_track(logits, targets, avg_factor=avg_factor)
