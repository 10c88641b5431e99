"""CiCo's clip-level prediction head (CPH, paper Sec. 3.2)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.losses.iou_loss import diou_loss
from mmdet.models.utils import filter_scores_and_topk, multi_apply
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor

from ..layers.clip_nms import DUP_RULES
from ..utils.clip_boxes import circumscribed_boxes, matching_frames
from ..utils.clip_features import per_frame
from ..utils.clip_ground_truth import fill_absent_boxes
from ..utils.random_subset import random_subset


@MODELS.register_module()
class CiCoHead(AnchorHead):
    """Clip-level prediction head of CiCo (CPH, Sec. 3.2).

    Anchor-based (3 anchors per location, as YOLACT) on the clip cubes of
    P3-P7, with three towers of ``stacked_convs`` convs: class (2D by
    default, paper Table 1b), box (3D; also predicts the mask parameters
    and the centerness) and tracking (3D). The 2D prediction layers run on
    each frame's slice of the tower outputs (``per_frame_rows``: T rows per
    anchor, one per frame) or on their time mean (one row). A row predicts
    a class, 4T box coordinates (one box per frame), the mask parameters,
    a centerness and a tracking embedding. Rows are ordered
    ``(row, level, y, x, anchor)``; ``conv_reg``'s channels are
    ``(anchor, frame, coordinate)``.

    Training: each row's anchors are matched to the circumscribed boxes
    (Eq. 4), over ``match_radius`` frames around the row's frame (a
    time-mean row: the centre frame), of the objects present in that frame
    (a time-mean row: in any of those frames); losses: focal on classes;
    on the boxes of the frames with the object, smooth-L1 on the deltas
    (Eq. 8's box term), DIoU and a centerness BCE towards ``1 - DIoU
    loss``; Eq. 9's tracking loss over the positives of all rows of a clip.

    Args:
        num_classes (int): Object classes.
        in_channels (int): FPN channels.
        feat_channels (int): Tower channels. Defaults to 256.
        stacked_convs (int): Convs per tower. Defaults to 4.
        num_frames (int): Clip length T (the box layer predicts 4T
            coordinates). Defaults to 3.
        per_frame_rows (bool): One prediction row per frame (True) or per
            clip from the time mean of the towers (False). Defaults to True.
        num_params (int): Mask parameters per object (set by the model from
            its mask generator). Defaults to 32.
        embed_dim (int): Tracking embedding channels. Defaults to 64.
        cls_tower_3d, box_tower_3d, track_tower_3d (bool): 3D class, box
            and tracking towers. Defaults to False, True, True.
        conv3d_cfg (dict): The 3D conv layer. Defaults to
            ``dict(type='ReplicateTimeConv3d')``.
        norm_cfg (dict, optional): Norm of the tower convs. Defaults to None.
        anchor_generator, bbox_coder, loss_cls, loss_bbox: As
            :class:`AnchorHead`; the box coder encodes each frame's box
            against the anchor.
        loss_iou (dict, optional): Loss on the decoded boxes; None: none.
        loss_centerness (dict, optional): Centerness loss; None: no such layer.
        loss_track (dict): Eq. 9. Defaults to ``CosineTrackLoss``.
        train_cfg (dict): ``assigner``; ``match_radius`` (int | None,
            default 1; None: the whole clip); ``max_track_samples``
            (positives per clip in the tracking loss, default 64);
            ``absent_boxes``: ``'ignore'`` (default: absent frames' boxes
            get weight 0) or ``'fill'`` (their nearest present frame's box).
        test_cfg (dict): ``score_thr`` (0.1), ``nms_pre`` (None:
            ``min(100 T, 300)``), ``row_frame`` (None: all rows; else that
            frame's rows only); the rest is :func:`clip_nms`'s.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 feat_channels: int = 256,
                 stacked_convs: int = 4,
                 num_frames: int = 3,
                 per_frame_rows: bool = True,
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
                     type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
                 loss_iou: OptConfigType = dict(
                     type='DIoULoss', loss_weight=1.0),
                 loss_centerness: OptConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     loss_weight=1.0),
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
        assert num_frames >= 1, num_frames
        self.stacked_convs = stacked_convs
        self.num_frames = num_frames
        self.per_frame_rows = per_frame_rows
        self.num_params = num_params
        self.embed_dim = embed_dim
        self.cls_tower_3d = cls_tower_3d
        self.box_tower_3d = box_tower_3d
        self.track_tower_3d = track_tower_3d
        self.conv3d_cfg = conv3d_cfg
        self.norm_cfg = norm_cfg
        self.with_centerness = loss_centerness is not None
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
        absent = (train_cfg or {}).get('absent_boxes', 'ignore')
        if absent not in ('ignore', 'fill'):
            raise ValueError("train_cfg.absent_boxes must be 'ignore' or "
                             f"'fill', not {absent!r}")
        dup_rule = (test_cfg or {}).get('dup_rule', 'per_class_frame')
        if dup_rule not in DUP_RULES:
            raise ValueError(f'test_cfg.dup_rule must be one of {DUP_RULES}'
                             f', not {dup_rule!r}')
        row_frame = (test_cfg or {}).get('row_frame', None)
        if row_frame is not None and not (
                per_frame_rows and isinstance(row_frame, int)
                and not isinstance(row_frame, bool)
                and 0 <= row_frame < num_frames):
            raise ValueError(
                'test_cfg.row_frame must be None or, with per_frame_rows, a '
                f'frame index in [0, {num_frames}), not {row_frame!r}')
        self.loss_iou = MODELS.build(loss_iou) if loss_iou else None
        self.loss_centerness = (
            MODELS.build(loss_centerness) if self.with_centerness else None)
        self.loss_track = MODELS.build(loss_track)

    def _init_layers(self) -> None:
        """Towers and prediction layers (the prediction layers are 2D)."""
        self.cls_convs = self._tower(self.cls_tower_3d)
        self.reg_convs = self._tower(self.box_tower_3d)
        self.track_convs = self._tower(self.track_tower_3d)
        a = self.num_base_priors
        self.conv_cls = nn.Conv2d(
            self.feat_channels, a * self.cls_out_channels, 3, padding=1)
        self.conv_reg = nn.Conv2d(
            self.feat_channels, a * 4 * self.num_frames, 3, padding=1)
        self.conv_params = nn.Conv2d(
            self.feat_channels, a * self.num_params, 3, padding=1)
        self.conv_embed = nn.Conv2d(
            self.feat_channels, a * self.embed_dim, 3, padding=1)
        if self.with_centerness:
            self.conv_centerness = nn.Conv2d(
                self.feat_channels, a, 3, padding=1)

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

    def _rows(self, convs: nn.ModuleList, cube: Tensor, is_3d: bool) -> Tensor:
        """A tower on a cube, then its row features: (B, C, R, H, W), R = T
        per-frame rows or 1 (time mean)."""
        for conv in convs:
            cube = conv(cube) if is_3d else per_frame(conv, cube)
        return cube if self.per_frame_rows else cube.mean(2, keepdim=True)

    def forward(self, x: Tuple[Tensor]) -> Tuple[List[Tensor], ...]:
        """Predictions on the clip cubes of every FPN level.

        Args:
            x (tuple[Tensor]): Per level, (B, C, T, H, W).

        Returns:
            tuple[list[Tensor]]: Per level, each with R rows (T or 1):
            ``cls_scores`` (B, A * K, R, H, W), ``bbox_preds``
            (B, A * T * 4, R, H, W) deltas, ``param_preds``
            (B, A * P, R, H, W), ``embed_preds`` (B, A * D, R, H, W),
            ``centernesses`` (B, A, R, H, W) logits (None without a
            centerness layer).
        """
        return multi_apply(self.forward_single, x)

    def forward_single(self, cube: Tensor) -> Tuple[Tensor, ...]:
        """See :meth:`forward`; one level."""
        assert cube.size(2) == self.num_frames, (cube.shape, self.num_frames)
        cls_feat = self._rows(self.cls_convs, cube, self.cls_tower_3d)
        reg_feat = self._rows(self.reg_convs, cube, self.box_tower_3d)
        track_feat = self._rows(self.track_convs, cube, self.track_tower_3d)
        centerness = (
            per_frame(self.conv_centerness, reg_feat)
            if self.with_centerness else None)
        return (per_frame(self.conv_cls, cls_feat),
                per_frame(self.conv_reg, reg_feat),
                per_frame(self.conv_params, reg_feat),
                per_frame(self.conv_embed, track_feat), centerness)

    # ------------------------------------------------------------------
    def flatten_predictions(
            self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
            param_preds: List[Tensor], embed_preds: List[Tensor],
            centernesses: List[Optional[Tensor]]) -> Tuple[Tensor, ...]:
        """All levels' and rows' predictions, ordered
        ``(row, level, y, x, anchor)``.

        Returns:
            tuple[Tensor]: ``cls`` (B, RNA, K), ``deltas`` (B, RNA, T, 4),
            ``params`` (B, RNA, P), ``embeds`` (B, RNA, D), ``centerness``
            (B, RNA) logits or None.
        """
        a, t = self.num_base_priors, self.num_frames

        def rows(preds, channels):
            # (B, A * C, R, H, W) per level -> (B, R * NA, C)
            out = torch.cat([
                p.permute(0, 2, 3, 4, 1).reshape(p.size(0), p.size(2), -1,
                                                 channels) for p in preds
            ], 2)
            return out.flatten(1, 2)

        deltas = rows(bbox_preds, a * t * 4)
        deltas = deltas.reshape(deltas.size(0), -1, t, 4)
        centerness = (
            rows(centernesses, 1)[..., 0] if self.with_centerness else None)
        return (rows(cls_scores, self.cls_out_channels), deltas,
                rows(param_preds, self.num_params),
                rows(embed_preds, self.embed_dim), centerness)

    def row_priors(self, cls_scores: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """Anchors and frames of the rows of :meth:`flatten_predictions`.

        Returns:
            tuple[Tensor]: ``anchors`` (RNA, 4) and ``row_frames`` (RNA, )
            long: the frame index of each row, -1 in the time-mean mode.
        """
        featmap_sizes = [s.shape[-2:] for s in cls_scores]
        anchors = torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes, device=cls_scores[0].device))
        num_rows = cls_scores[0].size(2)
        frames = (
            torch.arange(num_rows, device=anchors.device)
            if self.per_frame_rows else anchors.new_full(
                (1, ), -1, dtype=torch.long))
        return (anchors.repeat(num_rows, 1),
                frames.repeat_interleave(anchors.size(0)))

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def _assign_rows(self, anchors: Tensor, row_frames: Tensor,
                     gts: InstanceData) -> Tensor:
        """Matched object of every row of one clip (-1 negative, -2
        ignored).

        Args:
            anchors (Tensor): (RNA, 4).
            row_frames (Tensor): (RNA, ), see :meth:`row_priors`.
            gts (InstanceData): The clip's objects (``bboxes`` (N, T, 4),
                ``valid`` (N, T), ``labels`` (N, )).

        Returns:
            Tensor: (RNA, ) long.
        """
        num_frames = gts.valid.size(1)
        radius = self.train_cfg.get('match_radius', 1)
        gt_inds = anchors.new_full((anchors.size(0), ), -1, dtype=torch.long)
        for frame in row_frames.unique().tolist():
            in_row = (row_frames == frame).nonzero().squeeze(1)
            frames = matching_frames(num_frames, radius,
                                     None if frame < 0 else frame)
            if frame < 0:
                matchable = gts.valid[:, frames].any(dim=1)
            else:  # the row's own frame must contain the object
                matchable = gts.valid[:, frame]
            if not matchable.any():
                continue
            candidates = matchable.nonzero().squeeze(1)
            match_boxes = circumscribed_boxes(gts.bboxes[candidates],
                                              gts.valid[candidates], frames)
            result = self.assigner.assign(
                InstanceData(priors=anchors[in_row]),
                InstanceData(
                    bboxes=match_boxes, labels=gts.labels[candidates]))
            assigned = result.gt_inds
            row_inds = torch.full_like(assigned, -1)
            row_inds[assigned < 0] = -2
            row_inds[assigned > 0] = candidates[assigned[assigned > 0] - 1]
            gt_inds[in_row] = row_inds
        return gt_inds

    def loss(self, x: Tuple[Tensor], batch_clip_gts: List[InstanceData]
             ) -> Tuple[Dict[str, Tensor], List[InstanceData]]:
        """:meth:`loss_by_feat` of the head's outputs on the cubes ``x``
        (replaces ``AnchorHead.loss``)."""
        return self.loss_by_feat(*self(x), batch_clip_gts)

    def predict(self, x: Tuple[Tensor],
                batch_img_metas: Sequence[dict]) -> List[InstanceData]:
        """:meth:`predict_by_feat` of the head's outputs on the cubes ``x``
        (replaces ``AnchorHead.predict``: no per-frame NMS)."""
        return self.predict_by_feat(*self(x), batch_img_metas=batch_img_metas)

    def loss_by_feat(
        self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
        param_preds: List[Tensor], embed_preds: List[Tensor],
        centernesses: List[Optional[Tensor]],
        batch_clip_gts: List[InstanceData]
    ) -> Tuple[Dict[str, Tensor], List[InstanceData]]:
        """Class, box and tracking losses of a batch of clips.

        Args:
            cls_scores, bbox_preds, param_preds, embed_preds, centernesses:
                See :meth:`forward`.
            batch_clip_gts (list[InstanceData]): Per clip, its N objects:
                ``bboxes`` (N, T, 4), ``valid`` (N, T) bool (present in the
                frame), ``labels`` (N, ), ``instances_ids`` (N, ).

        Returns:
            tuple: ``losses`` (``loss_cls``, ``loss_bbox``, ``loss_track``
            and, when configured, ``loss_iou``, ``loss_centerness``) and,
            per clip, the positives for the mask loss: ``InstanceData`` with
            ``params`` (M, P), ``gt_inds`` (M, ) indices into the clip's
            objects and ``row_frames`` (M, ) (-1 in the time-mean mode).
        """
        cls, deltas, params, embeds, centerness = self.flatten_predictions(
            cls_scores, bbox_preds, param_preds, embed_preds, centernesses)
        anchors, row_frames = self.row_priors(cls_scores)
        num_frames = deltas.size(2)
        max_track = self.train_cfg.get('max_track_samples', 64)
        fill_absent = self.train_cfg.get('absent_boxes', 'ignore') == 'fill'

        labels_all, weights_all = [], []
        pos_deltas, pos_anchors, gt_boxes, present_all = [], [], [], []
        pos_centerness, track_losses, positive_infos = [], [], []
        for b, gts in enumerate(batch_clip_gts):
            gt_inds = self._assign_rows(anchors, row_frames, gts)
            labels = gt_inds.new_full(gt_inds.shape, self.num_classes)
            pos_inds = (gt_inds >= 0).nonzero().squeeze(1)
            pos_gt = gt_inds[pos_inds]
            labels[pos_inds] = gts.labels[pos_gt]
            labels_all.append(labels)
            weights_all.append((gt_inds != -2).to(cls.dtype))

            pos_deltas.append(deltas[b, pos_inds])
            pos_anchors.append(anchors[pos_inds])
            if fill_absent:
                gt_boxes.append(
                    fill_absent_boxes(gts.bboxes[pos_gt], gts.valid[pos_gt]))
                present_all.append(torch.ones_like(gts.valid[pos_gt]))
            else:
                gt_boxes.append(gts.bboxes[pos_gt])
                present_all.append(gts.valid[pos_gt])
            if self.with_centerness:
                pos_centerness.append(centerness[b, pos_inds])

            # Eq. 9 over (a subset of) the clip's positives of all rows
            track_inds = random_subset(
                pos_inds.size(0), max_track, pos_inds.device)
            if track_inds.numel() > 0:
                track_losses.append(
                    self.loss_track(embeds[b, pos_inds[track_inds]],
                                    gts.instances_ids[pos_gt[track_inds]]))
            positive_infos.append(
                InstanceData(
                    params=params[b, pos_inds],
                    gt_inds=pos_gt,
                    row_frames=row_frames[pos_inds]))

        num_pos = sum(len(p) for p in positive_infos)
        loss_cls = self.loss_cls(
            cls.reshape(-1, self.cls_out_channels),
            torch.cat(labels_all),
            torch.cat(weights_all),
            avg_factor=max(float(num_pos), 1.))
        losses = dict(loss_cls=loss_cls)
        losses.update(
            self._box_losses(
                torch.cat(pos_deltas), torch.cat(pos_anchors),
                torch.cat(gt_boxes), torch.cat(present_all),
                torch.cat(pos_centerness) if self.with_centerness else None,
                num_frames))
        if track_losses:
            losses['loss_track'] = torch.stack(track_losses).mean()
        else:
            losses['loss_track'] = embeds.sum() * 0.
        return losses, positive_infos

    def _box_losses(self, deltas: Tensor, anchors: Tensor, gt_boxes: Tensor,
                    present: Tensor, centerness: Optional[Tensor],
                    num_frames: int) -> Dict[str, Tensor]:
        """Box losses of the positives, on the frames with their object.

        Args:
            deltas (Tensor): (M, T, 4) predicted deltas.
            anchors (Tensor): (M, 4).
            gt_boxes (Tensor): (M, T, 4) the matched objects' boxes.
            present (Tensor): (M, T) bool, the object is in the frame.
            centerness (Tensor, optional): (M, ) logits.
            num_frames (int): T.

        Returns:
            dict[str, Tensor]: ``loss_bbox`` (smooth-L1 summed over the 4
            coordinates) and ``loss_iou``, averaged over the present frames,
            and ``loss_centerness`` (target: 1 - DIoU loss averaged over the
            present frames, detached), when configured.
        """
        flat_anchors = anchors[:, None].expand(-1, num_frames,
                                               -1).reshape(-1, 4)
        flat_present = present.reshape(-1)
        # absent frames have no box: their deltas get weight 0 and a finite
        # target, so that 0 * inf cannot make NaN
        safe_gt = torch.where(flat_present[:, None],
                              gt_boxes.reshape(-1, 4).float(),
                              flat_anchors.float())
        target = self.bbox_coder.encode(flat_anchors, safe_gt)
        weight = flat_present[:, None].expand(-1, 4).to(deltas.dtype)
        num_present = max(float(flat_present.sum()), 1.)
        flat_deltas = deltas.reshape(-1, 4)
        losses = dict(
            loss_bbox=self.loss_bbox(
                flat_deltas, target, weight, avg_factor=num_present))
        if self.loss_iou is None and not self.with_centerness:
            return losses
        decoded = self.bbox_coder.decode(flat_anchors, flat_deltas.float())
        iou_loss = diou_loss(decoded, safe_gt, reduction='none')
        if self.loss_iou is not None:
            losses['loss_iou'] = self.loss_iou(
                decoded,
                safe_gt,
                flat_present.to(decoded.dtype),
                avg_factor=num_present)
        if self.with_centerness:
            per_frame_quality = (1 - iou_loss.detach()).view(-1, num_frames)
            frames = present.sum(1).clamp(min=1)
            target_quality = (per_frame_quality * present).sum(1) / frames
            losses['loss_centerness'] = self.loss_centerness(
                centerness.float(),
                target_quality.clamp(0, 1),
                avg_factor=max(float(len(centerness)), 1.))
        return losses

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def predict_by_feat(self, cls_scores: List[Tensor],
                        bbox_preds: List[Tensor], param_preds: List[Tensor],
                        embed_preds: List[Tensor],
                        centernesses: List[Optional[Tensor]],
                        batch_img_metas: Sequence[dict]) -> List[InstanceData]:
        """Clip-level candidates before NMS (Sec. 3.4): the top ``nms_pre``
        (row, anchor, class) triples above ``score_thr``, of all rows or of
        ``test_cfg.row_frame``'s only.

        Args:
            batch_img_metas (Sequence[dict]): Per clip, the meta of one of
                its frames (``img_shape``; the frames share it).

        Returns:
            list[InstanceData]: Per clip: ``scores`` (n, ), ``labels``
            (n, ), ``quality`` (n, ) sigmoid centerness (ones without a
            centerness layer), ``bboxes`` (n, T, 4) per frame and
            ``clip_bboxes`` (n, 4) circumscribed, in network-input pixels;
            ``params`` (n, P); ``embeddings`` (n, D), unit length.
        """
        cfg = self.test_cfg
        # float32 from here whatever the autocast: decoded boxes and scores
        # are results (bfloat16 boxes are off by pixels at 640 wide)
        cls, deltas, params, embeds, centerness = (
            None if x is None else x.float()
            for x in self.flatten_predictions(cls_scores, bbox_preds,
                                              param_preds, embed_preds,
                                              centernesses))
        anchors, row_frames = self.row_priors(cls_scores)
        anchors = anchors.float()
        num_frames = deltas.size(2)
        if cfg.get('row_frame', None) is not None:
            rows = row_frames == cfg['row_frame']
            anchors = anchors[rows]
            cls, deltas, params, embeds, centerness = (
                None if x is None else x[:, rows]
                for x in (cls, deltas, params, embeds, centerness))
        nms_pre = cfg.get('nms_pre', None)
        if nms_pre is None:
            nms_pre = min(100 * num_frames, 300)
        results = []
        for b, meta in enumerate(batch_img_metas):
            scores, labels, keep, _ = filter_scores_and_topk(
                cls[b].sigmoid(), cfg.get('score_thr', 0.1), nms_pre)
            boxes = self.bbox_coder.decode(
                anchors[keep, None].expand(-1, num_frames, -1).reshape(-1, 4),
                deltas[b, keep].reshape(-1, 4),
                max_shape=meta['img_shape'][:2]).view(-1, num_frames, 4)
            quality = (
                centerness[b, keep].sigmoid()
                if self.with_centerness else torch.ones_like(scores))
            results.append(
                InstanceData(
                    scores=scores,
                    labels=labels,
                    quality=quality,
                    bboxes=boxes,
                    clip_bboxes=circumscribed_boxes(boxes),
                    params=params[b, keep],
                    embeddings=F.normalize(embeds[b, keep].float(), dim=1)))
        return results
