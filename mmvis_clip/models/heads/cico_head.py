"""CiCo's clip-level prediction head (CPH, paper Sec. 3.2)."""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmcv.ops import batched_nms
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.utils import filter_scores_and_topk, multi_apply
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.clip_boxes import circumscribed_boxes, matching_frames
from ..utils.clip_features import per_frame, temporal_mean
from ..utils.random_subset import random_subset


@MODELS.register_module()
class CiCoHead(AnchorHead):
    """Clip-level prediction head of CiCo (CPH).

    Anchor-based (3 anchors per location, as YOLACT / RetinaNet) on the
    clip cubes of P3-P7. Three towers of ``stacked_convs`` conv layers:

    - **class tower**, 2D by default (paper Table 1b: 3D convs there hurt):
      each frame through the 2D convs, the T maps averaged, then a 2D
      prediction layer: one class score per anchor per clip.
    - **box tower**, 3D (3x3x3) by default; it also predicts the mask
      parameters (both are location-sensitive, Sec. 3.2): a 2D prediction
      layer on each frame gives 4 coordinates per anchor per frame (4T per
      anchor, one box per frame); the T maps averaged give the mask
      parameters, one set per object per clip.
    - **tracking tower**, 3D by default: the T maps averaged, then a 2D
      layer gives one tracking embedding per anchor per clip.

    The paper does not say how the T frames become one prediction for the
    clip-level outputs; averaging the tower output over time keeps the
    head independent of T and, on a clip of identical frames, makes a head
    inflated from a 2D one (see ``conv_inflation``) give the 2D output.
    3D convs pad time by repeating the edge frames
    (``ReplicateTimeConv3d``) for the same reason.

    **Training.** Anchors are matched (``train_cfg.assigner``, IoU > 0.5
    positive, < 0.4 negative) to the circumscribed boxes (Eq. 4) of the
    objects over ``train_cfg.match_radius`` frames around the clip's
    centre frame (1: the current, previous and next frame, the paper's
    choice; None: the whole clip; Table 1c). Losses: focal loss on classes,
    smooth-L1 on the 4T box deltas of a positive's frames where its object
    is present (Eq. 8's box term), and the tracking loss of Eq. 9
    (``CosineTrackLoss``) over the positives of each clip, labelled by
    their objects' instance ids. The mask loss is the mask head's.

    Args:
        num_classes (int): Object classes.
        in_channels (int): FPN channels.
        feat_channels (int): Tower channels. Defaults to 256.
        stacked_convs (int): Convs per tower. Defaults to 4.
        num_params (int): Mask parameters per object (set by the model from
            its mask generator). Defaults to 32.
        embed_dim (int): Tracking embedding channels. Defaults to 64 (the
            public code's).
        cls_tower_3d (bool): 3D class tower. Defaults to False.
        box_tower_3d (bool): 3D box tower. Defaults to True.
        track_tower_3d (bool): 3D tracking tower. Defaults to True.
        conv3d_cfg (dict): The 3D conv layer. Defaults to
            ``dict(type='ReplicateTimeConv3d')``.
        norm_cfg (dict, optional): Norm of the tower convs.
            Defaults to None.
        anchor_generator, bbox_coder, loss_cls, loss_bbox: As
            :class:`AnchorHead`; the box coder encodes each frame's box
            against the anchor.
        loss_track (dict): Eq. 9. Defaults to ``CosineTrackLoss``.
        train_cfg (dict): ``assigner``; ``match_radius`` (int | None,
            default 1); ``max_track_samples`` (positives per clip in the
            tracking loss, default 64).
        test_cfg (dict): ``score_thr`` (0.1), ``nms_pre`` (1000), ``nms``
            (on circumscribed boxes, IoU 0.5), ``max_per_clip`` (100).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 feat_channels: int = 256,
                 stacked_convs: int = 4,
                 num_params: int = 32,
                 embed_dim: int = 64,
                 cls_tower_3d: bool = False,
                 box_tower_3d: bool = True,
                 track_tower_3d: bool = True,
                 conv3d_cfg: ConfigType = dict(type='ReplicateTimeConv3d'),
                 norm_cfg: OptConfigType = None,
                 anchor_generator: ConfigType = dict(
                     type='AnchorGenerator',
                     octave_base_scale=3,
                     scales_per_octave=1,
                     ratios=[0.5, 1.0, 2.0],
                     strides=[8, 16, 32, 64, 128]),
                 bbox_coder: ConfigType = dict(
                     type='DeltaXYWHBBoxCoder',
                     target_means=[0.0, 0.0, 0.0, 0.0],
                     target_stds=[0.1, 0.1, 0.2, 0.2]),
                 loss_cls: ConfigType = dict(
                     type='FocalLoss',
                     use_sigmoid=True,
                     gamma=2.0,
                     alpha=0.25,
                     loss_weight=1.0),
                 loss_bbox: ConfigType = dict(
                     type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
                 loss_track: ConfigType = dict(
                     type='CosineTrackLoss', loss_weight=1.0),
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = dict(
                     type='Normal',
                     layer=['Conv2d', 'Conv3d'],
                     std=0.01,
                     override=dict(
                         type='Normal',
                         name='conv_cls',
                         std=0.01,
                         bias_prob=0.01)),
                 **kwargs) -> None:
        self.stacked_convs = stacked_convs
        self.num_params = num_params
        self.embed_dim = embed_dim
        self.cls_tower_3d = cls_tower_3d
        self.box_tower_3d = box_tower_3d
        self.track_tower_3d = track_tower_3d
        self.conv3d_cfg = conv3d_cfg
        self.norm_cfg = norm_cfg
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            feat_channels=feat_channels,
            anchor_generator=anchor_generator,
            bbox_coder=bbox_coder,
            loss_cls=loss_cls,
            loss_bbox=loss_bbox,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg,
            **kwargs)
        if not self.use_sigmoid_cls:
            raise ValueError('CiCoHead needs a sigmoid class loss '
                             '(e.g. FocalLoss with use_sigmoid=True)')
        self.loss_track = MODELS.build(loss_track)

    def _init_layers(self) -> None:
        """Towers and prediction layers (the prediction layers are 2D)."""
        self.cls_convs = self._tower(self.cls_tower_3d)
        self.reg_convs = self._tower(self.box_tower_3d)
        self.track_convs = self._tower(self.track_tower_3d)
        a = self.num_base_priors
        self.conv_cls = nn.Conv2d(
            self.feat_channels, a * self.cls_out_channels, 3, padding=1)
        self.conv_reg = nn.Conv2d(self.feat_channels, a * 4, 3, padding=1)
        self.conv_params = nn.Conv2d(
            self.feat_channels, a * self.num_params, 3, padding=1)
        self.conv_embed = nn.Conv2d(
            self.feat_channels, a * self.embed_dim, 3, padding=1)

    def _tower(self, is_3d: bool) -> nn.ModuleList:
        convs = nn.ModuleList()
        for i in range(self.stacked_convs):
            convs.append(
                ConvModule(
                    self.in_channels if i == 0 else self.feat_channels,
                    self.feat_channels,
                    3,
                    padding=1,
                    conv_cfg=self.conv3d_cfg if is_3d else None,
                    norm_cfg=self.norm_cfg))
        return convs

    @staticmethod
    def _run_tower(convs: nn.ModuleList, cube: Tensor, is_3d: bool) -> Tensor:
        for conv in convs:
            cube = conv(cube) if is_3d else per_frame(conv, cube)
        return cube

    def forward(self, x: Tuple[Tensor]) -> Tuple[List[Tensor], ...]:
        """Predictions on the clip cubes of every FPN level.

        Args:
            x (tuple[Tensor]): Per level, (B, C, T, H, W).

        Returns:
            tuple[list[Tensor]]: Per level: ``cls_scores`` (B, A * K, H, W),
            ``bbox_preds`` (B, A * 4, T, H, W) deltas per frame,
            ``param_preds`` (B, A * P, H, W), ``embed_preds``
            (B, A * D, H, W).
        """
        return multi_apply(self.forward_single, x)

    def forward_single(self, cube: Tensor) -> Tuple[Tensor, ...]:
        """See :meth:`forward`; one level."""
        cls_feat = self._run_tower(self.cls_convs, cube, self.cls_tower_3d)
        reg_feat = self._run_tower(self.reg_convs, cube, self.box_tower_3d)
        track_feat = self._run_tower(self.track_convs, cube,
                                     self.track_tower_3d)
        cls_score = self.conv_cls(temporal_mean(cls_feat))
        bbox_pred = per_frame(self.conv_reg, reg_feat)
        param_pred = self.conv_params(temporal_mean(reg_feat))
        embed_pred = self.conv_embed(temporal_mean(track_feat))
        return cls_score, bbox_pred, param_pred, embed_pred

    # ------------------------------------------------------------------
    def flatten_predictions(self, cls_scores: List[Tensor],
                            bbox_preds: List[Tensor],
                            param_preds: List[Tensor],
                            embed_preds: List[Tensor]) -> Tuple[Tensor, ...]:
        """All levels' predictions as one row per anchor.

        Rows follow mmdet's anchor order (level, y, x, anchor), i.e. the
        order of ``prior_generator.grid_priors``.

        Returns:
            tuple[Tensor]: ``cls`` (B, NA, K), ``deltas`` (B, NA, T, 4),
            ``params`` (B, NA, P), ``embeds`` (B, NA, D).
        """
        a = self.num_base_priors
        cls, deltas, params, embeds = [], [], [], []
        for cls_score, bbox_pred, param_pred, embed_pred in zip(
                cls_scores, bbox_preds, param_preds, embed_preds):
            b, _, t, h, w = bbox_pred.shape
            cls.append(_rows(cls_score, self.cls_out_channels))
            deltas.append(
                bbox_pred.view(b, a, 4, t, h,
                               w).permute(0, 4, 5, 1, 3,
                                          2).reshape(b, h * w * a, t, 4))
            params.append(_rows(param_pred, self.num_params))
            embeds.append(_rows(embed_pred, self.embed_dim))
        return (torch.cat(cls, 1), torch.cat(deltas, 1), torch.cat(params, 1),
                torch.cat(embeds, 1))

    def clip_anchors(self, cls_scores: List[Tensor]) -> Tensor:
        """Anchors of all levels, (NA, 4), in the rows' order."""
        featmap_sizes = [s.shape[-2:] for s in cls_scores]
        return torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes, device=cls_scores[0].device))

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss_by_feat(
        self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
        param_preds: List[Tensor], embed_preds: List[Tensor],
        batch_clip_gts: List[InstanceData]
    ) -> Tuple[Dict[str, Tensor], List[InstanceData]]:
        """Class, box and tracking losses of a batch of clips.

        Args:
            cls_scores, bbox_preds, param_preds, embed_preds: See
                :meth:`forward`.
            batch_clip_gts (list[InstanceData]): Per clip, its N objects:
                ``bboxes`` (N, T, 4), ``valid`` (N, T) bool (present in the
                frame), ``labels`` (N, ), ``instances_ids`` (N, ).

        Returns:
            tuple: ``losses`` (``loss_cls``, ``loss_bbox``,
            ``loss_track``) and, per clip, the positives for the mask loss:
            ``InstanceData`` with ``params`` (M, P) and ``gt_inds`` (M, )
            indices into the clip's objects.
        """
        cls, deltas, params, embeds = self.flatten_predictions(
            cls_scores, bbox_preds, param_preds, embed_preds)
        anchors = self.clip_anchors(cls_scores)
        num_frames = deltas.size(2)
        radius = self.train_cfg.get('match_radius', 1)
        frames = matching_frames(num_frames, radius)
        max_track = self.train_cfg.get('max_track_samples', 64)

        cls_targets, pos_deltas, delta_targets, delta_weights = \
            [], [], [], []
        track_losses, positive_infos = [], []
        for b, gts in enumerate(batch_clip_gts):
            labels = cls.new_full((anchors.size(0), ),
                                  self.num_classes,
                                  dtype=torch.long)
            label_weights = cls.new_ones(anchors.size(0))
            match_boxes = circumscribed_boxes(gts.bboxes, gts.valid, frames)
            matchable = gts.valid[:, frames].any(dim=1)
            gt_inds = anchors.new_full((anchors.size(0), ),
                                       -1,
                                       dtype=torch.long)
            if matchable.any():
                candidates = matchable.nonzero().squeeze(1)
                result = self.assigner.assign(
                    InstanceData(priors=anchors),
                    InstanceData(
                        bboxes=match_boxes[candidates],
                        labels=gts.labels[candidates]))
                assigned = result.gt_inds
                label_weights[assigned < 0] = 0
                pos = assigned > 0
                gt_inds[pos] = candidates[assigned[pos] - 1]
            pos_inds = (gt_inds >= 0).nonzero().squeeze(1)
            pos_gt = gt_inds[pos_inds]
            labels[pos_inds] = gts.labels[pos_gt]
            cls_targets.append((labels, label_weights))

            # 4T box regression, only on frames where the object is present
            present = gts.valid[pos_gt].reshape(-1)
            target = self.bbox_coder.encode(
                anchors[pos_inds, None].expand(-1, num_frames,
                                               -1).reshape(-1, 4),
                gts.bboxes[pos_gt].reshape(-1, 4))
            # absent frames have no box: their (infinite) deltas get weight
            # 0 and a finite placeholder, so that 0 * inf cannot make NaN
            target = torch.where(present[:, None], target,
                                 torch.zeros_like(target))
            weight = present[:, None].expand(-1, 4).float()
            pos_deltas.append(deltas[b, pos_inds].reshape(-1, 4))
            delta_targets.append(target)
            delta_weights.append(weight)

            # Eq. 9 over (a subset of) the clip's positives
            track_inds = random_subset(
                pos_inds.size(0), max_track, pos_inds.device)
            if track_inds.numel() > 0:
                track_losses.append(
                    self.loss_track(embeds[b, pos_inds[track_inds]],
                                    gts.instances_ids[pos_gt[track_inds]]))
            positive_infos.append(
                InstanceData(params=params[b, pos_inds], gt_inds=pos_gt))

        labels = torch.cat([t[0] for t in cls_targets])
        label_weights = torch.cat([t[1] for t in cls_targets])
        num_pos = sum(len(p) for p in positive_infos)
        avg_factor = max(float(num_pos), 1.)
        loss_cls = self.loss_cls(
            cls.reshape(-1, self.cls_out_channels),
            labels,
            label_weights,
            avg_factor=avg_factor)
        weights = torch.cat(delta_weights)
        loss_bbox = self.loss_bbox(
            torch.cat(pos_deltas),
            torch.cat(delta_targets),
            weights,
            avg_factor=max(float(weights[:, 0].sum()), 1.))
        if track_losses:
            loss_track = torch.stack(track_losses).mean()
        else:
            loss_track = embeds.sum() * 0.
        losses = dict(
            loss_cls=loss_cls, loss_bbox=loss_bbox, loss_track=loss_track)
        return losses, positive_infos

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def predict_by_feat(self, cls_scores: List[Tensor],
                        bbox_preds: List[Tensor], param_preds: List[Tensor],
                        embed_preds: List[Tensor],
                        batch_img_metas: Sequence[dict]) -> List[InstanceData]:
        """Clip-level detections (Sec. 3.4).

        Class score > ``score_thr``, the ``nms_pre`` best (anchor, class)
        pairs, one box per frame decoded from the anchor, NMS on the
        circumscribed boxes per class, at most ``max_per_clip``.

        Args:
            batch_img_metas (Sequence[dict]): Per clip, the meta of one of
                its frames (``img_shape``; the frames share it).

        Returns:
            list[InstanceData]: Per clip: ``scores`` (n, ), ``labels``
            (n, ), ``bboxes`` (n, T, 4) per frame and ``clip_bboxes``
            (n, 4) circumscribed, in network-input pixels; ``params``
            (n, P); ``embeddings`` (n, D).
        """
        cfg = self.test_cfg
        cls, deltas, params, embeds = self.flatten_predictions(
            cls_scores, bbox_preds, param_preds, embed_preds)
        anchors = self.clip_anchors(cls_scores)
        num_frames = deltas.size(2)
        results = []
        for b, meta in enumerate(batch_img_metas):
            scores, labels, keep, _ = filter_scores_and_topk(
                cls[b].sigmoid(), cfg.get('score_thr', 0.1),
                cfg.get('nms_pre', 1000))
            boxes = self.bbox_coder.decode(
                anchors[keep, None].expand(-1, num_frames, -1).reshape(-1, 4),
                deltas[b, keep].reshape(-1, 4),
                max_shape=meta['img_shape'][:2]).view(-1, num_frames, 4)
            clip_boxes = circumscribed_boxes(boxes)
            max_per_clip = cfg.get('max_per_clip', 100)
            if scores.numel() > 0:
                _, kept = batched_nms(clip_boxes, scores, labels, cfg['nms'])
                kept = kept[:max_per_clip]
            else:
                kept = keep.new_zeros((0, ))
            results.append(
                InstanceData(
                    scores=scores[kept],
                    labels=labels[kept],
                    bboxes=boxes[kept],
                    clip_bboxes=clip_boxes[kept],
                    params=params[b, keep[kept]],
                    embeddings=embeds[b, keep[kept]]))
        return results


def _rows(pred: Tensor, channels: int) -> Tensor:
    """(B, A * C, H, W) -> (B, H * W * A, C)."""
    return pred.permute(0, 2, 3, 1).reshape(pred.size(0), -1, channels)
