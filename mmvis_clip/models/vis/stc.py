"""STC: CondInst with spatio-temporal contrastive tracking."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import CondInstBboxHead
from mmdet.models.mot import BaseMOTModel
from mmdet.models.utils import samplelist_boxtype2tensor, unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackSampleList
from mmdet.utils import OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ...utils.checkpoint_loading import mark_converted
from ..heads.stc_mask_head import num_dynamic_params
from ..utils.clip_ground_truth import check_instance_ids
from ..utils.inference_stages import inference_stage, mark_module_stage
from .video_stream import FrameResults, VideoStreamMixin

#: Top-level module names of a CondInst (single-stage instance segmentor)
#: state dict; STC keeps them under ``detector.``.
DETECTOR_KEY_PREFIXES = ('backbone.', 'neck.', 'bbox_head.', 'mask_head.')


@MODELS.register_module()
class STC(VideoStreamMixin, BaseMOTModel):
    """`STC <https://arxiv.org/abs/2202.03747>`_ video instance segmentor: a
    CondInst ``detector``, a ``track_head`` (:class:`STCTrackHead`) and an
    online ``tracker`` (:class:`STCTracker`).

    Trained on a key and a reference frame with Eq. 7 of the STC paper,
    ``L = L_condinst + lambda_b * L_bi-track + lambda_c * L_consistency``;
    runs frame by frame (:class:`VideoStreamMixin`). A CondInst checkpoint
    in mmdet's layout loads directly (keys moved under ``detector.``).
    Departures from the paper: ``configs/stc/README.md``.

    Args:
        detector (dict): CondInst config.
        track_head (dict): Track head config.
        tracker (dict, optional): Tracker config.
        loss_consistency (dict, optional): Temporal consistency loss.
            Defaults to ``KernelConsistencyLoss`` with weight 10.
        data_preprocessor (dict, optional): ``TrackDataPreprocessor``
            config.
        freeze_detector (bool): Train the tracking head only (not in the
            paper); the detector keeps its weights and BN statistics.
            Defaults to False.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 detector: dict,
                 track_head: dict,
                 tracker: Optional[dict] = None,
                 loss_consistency: OptConfigType = dict(
                     type='KernelConsistencyLoss', loss_weight=10.0),
                 data_preprocessor: OptConfigType = None,
                 freeze_detector: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        detector = copy.deepcopy(detector)
        _check_num_params(detector)
        self.detector = MODELS.build(detector)
        if not isinstance(
                getattr(self.detector, 'bbox_head', None),
                CondInstBboxHead) or not hasattr(self.detector, 'mask_head'):
            raise TypeError('STC needs a CondInst detector (bbox_head of '
                            'type CondInstBboxHead and a mask_head), got '
                            f'{type(self.detector).__name__}')
        # inference stages inside mmdet's extract_feat (no-ops unless a
        # recorder is active, models/utils/inference_stages.py)
        mark_module_stage(self.detector.backbone, 'backbone')
        if self.detector.with_neck:
            mark_module_stage(self.detector.neck, 'neck')
        self.track_head = MODELS.build(track_head)
        self.tracker = MODELS.build(tracker) if tracker else None
        self.loss_consistency = (
            MODELS.build(loss_consistency) if loss_consistency else None)
        self.register_load_state_dict_pre_hook(_nest_detector_keys)
        self.freeze_detector = freeze_detector
        if freeze_detector:
            for param in self.detector.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'STC':
        """Set the training mode; a frozen detector's BN layers stay in
        eval mode (the rest of it in training mode)."""
        super().train(mode)
        if self.freeze_detector:
            for module in self.detector.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: TrackSampleList,
             **kwargs) -> Dict[str, Tensor]:
        """Losses of a batch of (key, reference) frame pairs.

        Args:
            inputs (Tensor): (N, 2, C, H, W), key and reference frames.
            data_samples (list[TrackDataSample]): With ``key_frames_inds``
                and ``ref_frames_inds`` and ground truth (``bboxes``,
                ``labels``, ``masks``, ``instances_ids``).

        Returns:
            dict[str, Tensor]: CondInst losses, ``loss_track`` and
            ``loss_consistency``.
        """
        key_imgs, ref_imgs, key_samples, ref_samples = \
            _split_key_ref(inputs, data_samples)
        samplelist_boxtype2tensor(key_samples + ref_samples)
        gts, gts_ignore, metas = unpack_gt_instances(key_samples)
        ref_gts, _, ref_metas = unpack_gt_instances(ref_samples)
        for gt, meta in zip(gts + ref_gts, metas + ref_metas):
            check_instance_ids(gt, meta)

        bbox_head = self.detector.bbox_head
        x = self.detector.extract_feat(key_imgs)
        ref_x = self.detector.extract_feat(ref_imgs)
        outs = bbox_head(x)
        ref_outs = bbox_head(ref_x)

        losses = bbox_head.loss_by_feat(*outs, gts, metas, gts_ignore)
        positive_infos = bbox_head.get_positive_infos()
        mask_head = self.detector.mask_head
        mask_losses = mask_head.loss(
            x, key_samples, positive_infos=positive_infos)
        # without any positive in the batch mmdet's mask loss is a new zero:
        # keep every mask-head parameter in the graph (gradient 0), or DDP
        # stops on the unused mask_feature_head
        mask_losses['loss_mask'] = mask_losses['loss_mask'] + sum(
            p.sum() for p in mask_head.parameters() if p.requires_grad) * 0.
        losses.update(mask_losses)

        # the key frame's assignment is the one loss_by_feat made
        pos_infos = self._positive_locations(outs, positive_infos)
        ref_pos_infos = self._positive_locations(
            ref_outs, self._assign(ref_outs, ref_gts))
        losses.update(
            self.track_head.loss(
                self.track_head(x), self.track_head(ref_x), pos_infos,
                ref_pos_infos, gts, ref_gts, metas, ref_metas))
        if self.loss_consistency is not None:
            params, ref_params = _consistency_pairs(pos_infos, ref_pos_infos,
                                                    gts, ref_gts)
            losses['loss_consistency'] = self.loss_consistency(
                params, ref_params)
        return losses

    def _assign(self, bbox_outs: Tuple[List[Tensor], ...],
                batch_gt_instances: List[InstanceData]) -> List[InstanceData]:
        """CondInst/FCOS label assignment of the reference frame, as
        ``loss_by_feat`` makes it.

        Args:
            bbox_outs (tuple[list[Tensor]]): The box head's outputs, per
                level (N, C, H_l, W_l).
            batch_gt_instances (list[InstanceData]): Ground truth of the N
                images.

        Returns:
            list[InstanceData]: Per image, ``pos_inds`` and
            ``pos_assigned_gt_inds`` (P, ), as
            :meth:`CondInstBboxHead.get_positive_infos`.
        """
        bbox_head = self.detector.bbox_head
        cls_scores, bbox_preds = bbox_outs[:2]
        points = bbox_head.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores],
            dtype=bbox_preds[0].dtype,
            device=bbox_preds[0].device)
        _, _, pos_inds_list, pos_gt_inds_list = bbox_head.get_targets(
            points, batch_gt_instances)
        return [
            InstanceData(pos_inds=pos_inds, pos_assigned_gt_inds=gt_inds)
            for pos_inds, gt_inds in zip(pos_inds_list, pos_gt_inds_list)
        ]

    def _positive_locations(
            self, bbox_outs: Tuple[List[Tensor], ...],
            assignments: List[InstanceData]) -> List[InstanceData]:
        """Positive locations of one frame per image.

        Args:
            bbox_outs (tuple[list[Tensor]]): The box head's outputs
                ``(cls_scores, bbox_preds, centernesses, param_preds)``.
            assignments (list[InstanceData]): Per image, ``pos_inds`` and
                ``pos_assigned_gt_inds`` (P, ).

        Returns:
            list[InstanceData]: Per image: ``points`` (P, 2),
            ``query_points`` (P, 2) (centres of the predicted boxes),
            ``gt_inds`` (P, ), ``param_preds`` (P, num_params).
        """
        bbox_head = self.detector.bbox_head
        cls_scores, bbox_preds, _, param_preds = bbox_outs
        points_strides = bbox_head.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores],
            dtype=bbox_preds[0].dtype,
            device=bbox_preds[0].device,
            with_stride=True)
        points = torch.cat([p[:, :2] for p in points_strides])
        strides = torch.cat([p[:, 2] for p in points_strides])
        flat_bbox = _flatten_levels(bbox_preds)
        flat_params = _flatten_levels(param_preds)
        # In training mode the box head predicts distances in units of
        # the level's stride (``norm_on_bbox``); at test time in pixels.
        scale_by_stride = bbox_head.norm_on_bbox and bbox_head.training
        infos = []
        for img_id, assignment in enumerate(assignments):
            pos_inds = assignment.pos_inds
            pos_points = points[pos_inds]
            dist = flat_bbox[img_id, pos_inds].detach()
            if scale_by_stride:
                dist = dist * strides[pos_inds, None]
            centres = pos_points + (dist[:, 2:] - dist[:, :2]) / 2
            infos.append(
                InstanceData(
                    points=pos_points,
                    query_points=centres,
                    gt_inds=assignment.pos_assigned_gt_inds,
                    param_preds=flat_params[img_id, pos_inds]))
        return infos

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def init_state(self) -> None:
        """Start a new video: forget the tracks."""
        self.tracker.reset()

    def step(self,
             inputs: Tensor,
             frames: Sequence[DetDataSample],
             rescale: bool = True) -> FrameResults:
        """Detect and track the next frames; each result is final at once.

        Args:
            inputs (Tensor): (1, n, C, H, W).
            frames (Sequence[DetDataSample]): Their n samples; each gets
                ``pred_instances``.
            rescale (bool): Boxes and masks at the original resolution.

        Returns:
            list[tuple[int, InstanceData]]: ``(frame_id, instances)`` of
            the n frames: ``bboxes``, ``scores``, ``labels``, ``masks``
            (bool), ``embeddings``, ``instances_id``, on the model's device.
        """
        results = []
        for t, frame in enumerate(frames):
            single_img = inputs[:, t].contiguous()
            x = self.detector.extract_feat(single_img)
            frame.pred_instances = self._predict_frame(x, frame, rescale)
            with inference_stage('tracking'):
                track = self.tracker.track(data_sample=frame)
            results.append((int(frame.metainfo['frame_id']), track))
        return results

    def flush(self) -> FrameResults:
        """Nothing is held back: every frame is final at its step."""
        return []

    def _predict_frame(self, x: Tuple[Tensor], data_sample: DetDataSample,
                       rescale: bool) -> InstanceData:
        """CondInst detections of one frame with their embeddings."""
        with inference_stage('heads'):
            results = self.detector.bbox_head.predict(
                x, [data_sample], rescale=False)
            embed_map = self.track_head(x)[0]
            embeds = self.track_head.embeddings_at_boxes(
                embed_map, results[0].bboxes)
        with inference_stage('mask'):
            results = self.detector.mask_head.predict(
                x, [data_sample], rescale=rescale, results_list=results)
        det = results[0]
        pred = InstanceData(metainfo=det.metainfo)
        pred.bboxes = det.bboxes
        pred.scores = det.scores
        pred.labels = det.labels
        pred.masks = det.masks
        if len(det) == len(embeds):
            pred.embeddings = embeds
        else:  # mmdet replaced an empty result
            pred.embeddings = embed_map.new_zeros(
                (len(det), embed_map.size(0)))
        return pred

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[TrackSampleList] = None,
                 **kwargs) -> tuple:
        """Raw outputs of every frame: box-head outputs, mask features and
        the embedding map (frames flattened into the batch)."""
        imgs = inputs.flatten(0, 1) if inputs.dim() == 5 else inputs
        x = self.detector.extract_feat(imgs)
        return (self.detector.bbox_head(x),
                self.detector.mask_head.mask_feature_head(x),
                self.track_head(x))


def _flatten_levels(maps: List[Tensor]) -> Tensor:
    """(N, C, H_l, W_l) per level -> (N, sum_l H_l * W_l, C), level-major
    and row-major, the order of mmdet's multi-level point lists."""
    flat = [m.permute(0, 2, 3, 1).flatten(1, 2) for m in maps]
    return torch.cat(flat, dim=1)


def _split_key_ref(inputs: Tensor, data_samples: TrackSampleList):
    """Key/reference images and DetDataSamples, as MaskTrackRCNN does."""
    if inputs.dim() != 5 or inputs.size(1) != 2:
        raise ValueError('STC trains on one key and one reference frame: '
                         'inputs must be (N, 2, C, H, W), got '
                         f'{tuple(inputs.shape)} (use UniformRefFrameSample '
                         'with num_ref_imgs=1)')
    key_samples, ref_samples, key_inds, ref_inds = [], [], [], []
    for sample in data_samples:
        keys, refs = sample.key_frames_inds, sample.ref_frames_inds
        if len(keys) != 1 or len(refs) != 1:
            raise ValueError('each TrackDataSample must hold 1 key and 1 '
                             f'reference frame, got key_frames_inds={keys} '
                             f'ref_frames_inds={refs}')
        key_samples.append(sample.get_key_frames()[0])
        ref_samples.append(sample.get_ref_frames()[0])
        key_inds.append(keys[0])
        ref_inds.append(refs[0])
    batch = torch.arange(len(inputs))
    key_imgs = inputs[batch, torch.tensor(key_inds)].contiguous()
    ref_imgs = inputs[batch, torch.tensor(ref_inds)].contiguous()
    return key_imgs, ref_imgs, key_samples, ref_samples


def _consistency_pairs(pos_infos: List[InstanceData],
                       ref_pos_infos: List[InstanceData],
                       gts: List[InstanceData],
                       ref_gts: List[InstanceData]) -> Tuple[Tensor, Tensor]:
    """Dynamic parameters of key and reference positive locations of an
    instance at the nearest relative position (Eq. 6 pairs, see
    ``configs/stc/README.md``): (N, num_params) each, row-aligned."""
    params, ref_params = [], []
    for info, ref_info, gt, ref_gt in zip(pos_infos, ref_pos_infos, gts,
                                          ref_gts):
        gt_inds, ref_gt_inds = info.gt_inds.long(), ref_info.gt_inds.long()
        same = gt.instances_ids[gt_inds][:, None] == \
            ref_gt.instances_ids[ref_gt_inds][None, :]  # (P, R)
        has_pair = same.any(dim=1)
        if not bool(has_pair.any()):
            continue
        rel = _relative_positions(info.points, gt.bboxes[gt_inds])
        ref_rel = _relative_positions(ref_info.points,
                                      ref_gt.bboxes[ref_gt_inds])
        dist = torch.cdist(rel, ref_rel).masked_fill(~same, float('inf'))
        ref_choice = dist.argmin(dim=1)
        params.append(info.param_preds[has_pair])
        ref_params.append(ref_info.param_preds[ref_choice[has_pair]])
    if not params:
        empty = pos_infos[0].param_preds[:0]
        return empty, ref_pos_infos[0].param_preds[:0]
    return torch.cat(params), torch.cat(ref_params)


def _relative_positions(points: Tensor, boxes: Tensor) -> Tensor:
    """Offsets of points from box centres in units of box width/height."""
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    sizes = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1.)
    return (points - centres) / sizes


def _check_num_params(detector: dict) -> None:
    """The kernel generator must predict what the mask head consumes."""
    mask_head = detector.get('mask_head', {})
    bbox_head = detector.get('bbox_head', {})
    feat_head = mask_head.get('mask_feature_head', {})
    if 'out_channels' not in feat_head:
        return
    expected = num_dynamic_params(feat_head['out_channels'],
                                  mask_head.get('feat_channels', 8),
                                  mask_head.get('num_layers', 3),
                                  mask_head.get('with_coords', True))
    given = bbox_head.get('num_params', 169)
    if given is None:
        bbox_head['num_params'] = expected
    elif given != expected:
        raise ValueError(
            f'detector.bbox_head.num_params={given} but the mask head '
            f'({feat_head["out_channels"]} mask channels, '
            f'{mask_head.get("num_layers", 3)} dynamic layers of '
            f'{mask_head.get("feat_channels", 8)} channels, with_coords='
            f'{mask_head.get("with_coords", True)}) needs {expected}; set '
            f'num_params={expected} (or None to derive it)')


def _nest_detector_keys(module, state_dict: dict, prefix: str, *args) -> None:
    """Load-state-dict pre-hook: CondInst checkpoint keys -> ``detector.``
    when no key is under ``detector.`` yet (marked as converted)."""
    nested = prefix + 'detector.'
    if any(k.startswith(nested) for k in state_dict):
        return
    moved = 0
    for key in list(state_dict.keys()):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if rest.startswith(DETECTOR_KEY_PREFIXES):
            state_dict[nested + rest] = state_dict.pop(key)
            moved += 1
    if moved:
        mark_converted(state_dict, f'a CondInst detector: its {moved} '
                       'tensors nested under detector.')
