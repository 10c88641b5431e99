"""CiCo: clip-in clip-out video instance segmentation."""
import copy
import functools
from typing import Callable, Dict, List, Optional, Sequence

import torch
from mmdet.models.mot import BaseMOTModel
from mmdet.models.utils import samplelist_boxtype2tensor
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackSampleList
from mmdet.utils import OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor

from ...utils.user_errors import UserError
from ..inflation.cico_checkpoint import load_2d_checkpoint
from ..layers.clip_nms import ClipNMS
from ..utils.clip_features import frames_to_clips
from ..utils.clip_ground_truth import clip_ground_truth
from ..utils.inference_stages import inference_stage
from .clip_schedule import ClipSchedule, frame_of_clip
from .video_stream import FrameResults, VideoStreamMixin


def clip_length(num_frames: Optional[int], bbox_head: dict,
                tracker: Optional[dict]) -> int:
    """The clip length T of a CiCo config: ``num_frames``, else the one
    its box head or tracker sets (configs of earlier releases), else 3.

    Raises:
        UserError: The keys set it to different values, or to no int >= 1
            (one line naming them).
    """
    given = {
        'model.num_frames': num_frames,
        'model.bbox_head.num_frames': bbox_head.get('num_frames'),
        'model.tracker.clip_len': (tracker or dict()).get('clip_len'),
    }
    given = {k: v for k, v in given.items() if v is not None}
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int) \
                or value < 1:
            raise UserError(f'{key} must be an int >= 1, got {value!r}')
    if len(set(given.values())) > 1:
        raise UserError(
            'CiCo: the clip length is set to different values ('
            + ', '.join(f'{k}={v}' for k, v in given.items())
            + '); set model.num_frames alone: the box head and the tracker '
            'follow it')
    return next(iter(given.values()), 3)


@MODELS.register_module()
class CiCo(VideoStreamMixin, BaseMOTModel):
    """`CiCo <https://github.com/MinghanLi/CiCo>`_ video instance segmentor.

    Clip in, clip out: :class:`CiCoHead` (CPH) and :class:`CiCoMaskHead`
    (CMH; CiCo-Yolact, Eq. 5, or CiCo-CondInst, Eq. 6) run on the FPN cubes
    (N, C, T, H, W) of a T-frame clip and train with the losses of Sec. 3.3;
    at test, overlapping clips are linked by :class:`ClipTracker` (Sec. 3.4,
    Eq. 11). T = 1 with 2D towers and prototype convs is the frame-in
    frame-out (FiFo) baseline. A 2D ``load_from`` checkpoint is inflated on
    loading (:func:`load_2d_checkpoint`).

    Args:
        backbone, neck (dict): Backbone and FPN configs.
        bbox_head (dict): :class:`CiCoHead` config (``num_frames`` is the
            model's, ``num_params`` is set from the mask generator).
        mask_head (dict): :class:`CiCoMaskHead` config.
        tracker (dict, optional): :class:`ClipTracker` config
            (``clip_len`` is the model's ``num_frames``).
        num_frames (int, optional): The clip length T, the one owner of
            it: the box head's ``num_frames``, the tracker's ``clip_len``
            and (with ``tools/train.py``) the training clips' length follow
            it. Defaults to None: ``bbox_head.num_frames`` or
            ``tracker.clip_len`` where given (configs of earlier
            releases), else 3.
        train_cfg (dict, optional): Box head training config.
        test_cfg (dict, optional): Box head (and ``mask_thr``) test config.
        data_preprocessor (dict, optional): ``TrackDataPreprocessor``.
        init_2d_cfg (dict, optional): ``load_2d_checkpoint`` options
            (``track_from_box``, ``anchor_repeat``, ``expand_box``).
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 bbox_head: dict,
                 mask_head: dict,
                 tracker: Optional[dict] = None,
                 num_frames: Optional[int] = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_2d_cfg: Optional[dict] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        mask_head = copy.deepcopy(mask_head)
        if test_cfg is not None and 'mask_thr' in test_cfg:
            mask_head['test_cfg'] = dict(mask_thr=test_cfg['mask_thr'])
        self.mask_head = MODELS.build(mask_head)
        bbox_head = copy.deepcopy(bbox_head)
        tracker = copy.deepcopy(tracker) if tracker else None
        self.num_frames = clip_length(num_frames, bbox_head, tracker)
        bbox_head.update(
            num_frames=self.num_frames,
            num_params=self.mask_head.mask_generator.num_params,
            train_cfg=train_cfg,
            test_cfg=test_cfg)
        self.bbox_head = MODELS.build(bbox_head)
        if tracker:
            tracker['clip_len'] = self.num_frames
        self.tracker = MODELS.build(tracker) if tracker else None
        self._feat_cache: Dict[int, List[Tensor]] = dict()
        self._schedule = None if self.tracker is None else ClipSchedule(
            self.tracker.clip_len, self.tracker.overlap)
        self._rescale = True
        self.register_load_state_dict_pre_hook(
            functools.partial(load_2d_checkpoint, **(init_2d_cfg or {})))

    def extract_clip_feat(self,
                          clips: Tensor,
                          frame_ids: Optional[Sequence[int]] = None) -> tuple:
        """FPN cubes of a batch of clips.

        Args:
            clips (Tensor): (B, T, C, H, W).
            frame_ids (Sequence[int], optional): The T video frame indices
                of the clip (B = 1, test): the features of frames the
                previous clip computed are reused.

        Returns:
            tuple[Tensor]: Per FPN level, (B, C', T, H_l, W_l).
        """
        num_frames = clips.size(1)
        if frame_ids is None:
            feats = self.neck(self.backbone(clips.flatten(0, 1)))
            return frames_to_clips(feats, num_frames)
        assert clips.size(0) == 1 and len(frame_ids) == num_frames
        frame_ids = [int(f) for f in frame_ids]
        cache = {f: v for f, v in self._feat_cache.items() if f in frame_ids}
        new = [
            t for t, f in enumerate(frame_ids)
            if f not in cache and f not in frame_ids[:t]
        ]
        if new:
            with inference_stage('backbone'):
                feats = self.backbone(clips[0, new])
            with inference_stage('neck'):
                feats = self.neck(feats)
            for i, t in enumerate(new):
                cache[frame_ids[t]] = [level[i] for level in feats]
        per_frame_feats = [cache[f] for f in frame_ids]
        # the next clip can only share this clip's last frames
        overlap = self.tracker.overlap if self.tracker is not None else 0
        self._feat_cache = {
            f: cache[f]
            for f in frame_ids[num_frames - overlap:]
        } if overlap else dict()
        return tuple(
            torch.stack([frame[level] for frame in per_frame_feats],
                        1)[None] for level in range(len(per_frame_feats[0])))

    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: TrackSampleList,
             **kwargs) -> Dict[str, Tensor]:
        """Losses of a batch of clips.

        Args:
            inputs (Tensor): (B, T, C, H, W).
            data_samples (list[TrackDataSample]): T frames each, with
                ``gt_instances`` (``bboxes``, ``labels``, ``masks``,
                ``instances_ids``).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox``, ``loss_track``,
            ``loss_mask``.
        """
        if inputs.dim() != 5:
            raise ValueError('CiCo trains on clips: inputs must be '
                             f'(B, T, C, H, W), got {tuple(inputs.shape)}')
        for sample in data_samples:
            if len(sample) != inputs.size(1):
                raise ValueError(f'a clip has {len(sample)} frames, the '
                                 f'batch {inputs.size(1)}')
            samplelist_boxtype2tensor([sample[t] for t in range(len(sample))])
        clip_gts = [
            clip_ground_truth([s[t] for t in range(len(s))])
            for s in data_samples
        ]
        cubes = self.extract_clip_feat(inputs)
        losses, positive_infos = self.bbox_head.loss(cubes, clip_gts)
        protos = self.mask_head(cubes)
        losses.update(self.mask_head.loss(protos, positive_infos, clip_gts))
        return losses

    # ------------------------------------------------------------------
    def init_state(self) -> None:
        """Start a new video: forget tracks, features and buffered frames."""
        self._feat_cache = dict()
        self._schedule.reset()
        self.tracker.reset()

    def step(self,
             inputs: Tensor,
             frames: Sequence[DetDataSample],
             rescale: bool = True) -> FrameResults:
        """:meth:`VideoStreamMixin.step`: buffer frames, detect and track
        each clip they complete (:meth:`ClipSchedule.final_frames`)."""
        self._rescale = rescale
        results = []
        for t, frame in enumerate(frames):
            clip = self._schedule.push((inputs[:, t], frame))
            if clip is not None:
                results += self._track_scheduled(clip)
        return results

    def flush(self) -> FrameResults:
        """End the video: the padded last clip or the frames held back."""
        clip = self._schedule.end()
        results = [] if clip is None else self._track_scheduled(
            clip, last=True)
        results += self._schedule.release()
        self._feat_cache = dict()
        return results

    def _track_scheduled(self, clip: list, last: bool = False) -> FrameResults:
        """:meth:`track_clip` on a clip of ``(input (1, C, H, W), sample)``
        pairs from the schedule; its final frames."""
        frames = [frame for _, frame in clip]
        frame_ids = [int(f.metainfo['frame_id']) for f in frames]
        outputs = self.track_clip(
            torch.stack([x for x, _ in clip], dim=1), frames, frame_ids,
            self._rescale)
        return self._schedule.final_frames(
            frame_ids, functools.partial(frame_of_clip, outputs), last)

    def track_clip(self,
                   clip: Tensor,
                   frames: Sequence[DetDataSample],
                   frame_ids: Sequence[int],
                   rescale: bool = True) -> InstanceData:
        """Detect (:meth:`predict_clip`, the same arguments) and track one
        clip of a video: ``ClipTracker.track_clip``'s outputs."""
        dets, render = self.predict_clip(
            clip, frames, rescale, frame_ids=frame_ids, with_render=True)
        with inference_stage('tracking'):
            return self.tracker.track_clip(dets, render_masks=render)

    def predict_clip(self,
                     clip: Tensor,
                     frames: Sequence[DetDataSample],
                     rescale: bool = True,
                     frame_ids: Optional[Sequence[int]] = None,
                     with_render: bool = False):
        """Detections of one clip before tracking (:func:`clip_nms`).

        Args:
            clip (Tensor): (1, T, C, H, W).
            frames (Sequence[DetDataSample]): The T frames' samples
                (``img_shape``, ``ori_shape``, ``scale_factor``, shared).
            rescale (bool): Boxes and masks at ``ori_shape``.
            frame_ids (Sequence[int], optional): The T video frame indices
                (the last one repeated to pad the video's last clip).
            with_render (bool): Also return the tracker's mask renderer.

        Returns:
            InstanceData: ``scores`` (n, ), ``labels`` (n, ),
            ``embeddings`` (n, D), ``bboxes`` (n, T, 4), ``clip_bboxes``
            (n, 4), ``params`` (n, P), ``masks`` (n, T, H, W) bool; boxes
            at output resolution. With ``with_render``, a tuple of it and
            :meth:`mask_renderer`'s ``render``.
        """
        meta = frames[0].metainfo
        cfg = self.bbox_head.test_cfg
        cubes = self.extract_clip_feat(clip, frame_ids)
        with inference_stage('heads'):
            cands = self.bbox_head.predict(cubes, [meta])[0]
        nms = ClipNMS.from_test_cfg(cfg)
        # the tests needing no mask first: masks only for their survivors
        kept = nms.box_stage(
            cands.scores,
            cands.bboxes,
            cands.clip_bboxes,
            meta['img_shape'],
            quality=cands.quality)
        with inference_stage('mask'):
            protos = self.mask_head(cubes)[0]
            low_res = self.mask_head.proto_masks(protos, cands.params[kept],
                                                 cands.clip_bboxes[kept])
        keep = nms.mask_stage(kept, cands.labels, cands.bboxes,
                              cands.clip_bboxes, low_res,
                              self.mask_head.proto_stride)
        dets = cands[keep]
        with inference_stage('mask'):
            masks = self.mask_head.render(protos, dets.params,
                                          dets.clip_bboxes, meta, rescale)
        scale = dets.bboxes.new_ones(4)
        if rescale and 'scale_factor' in meta:
            scale = dets.bboxes.new_tensor(meta['scale_factor']).repeat(2)
        result = InstanceData(
            scores=dets.scores,
            labels=dets.labels,
            embeddings=dets.embeddings,
            bboxes=dets.bboxes / scale,
            clip_bboxes=dets.clip_bboxes / scale,
            params=dets.params,
            masks=masks)
        if not with_render:
            return result
        return result, self.mask_renderer(protos, meta, rescale)

    def mask_renderer(self, protos: Tensor, meta: dict,
                      rescale: bool) -> Callable[[Tensor, Tensor], Tensor]:
        """The tracker's ``render_masks`` on one clip's prototypes: masks
        cropped by exactly the boxes given (no test crop on top).

        Args:
            protos (Tensor): (k, T, h, w) of the clip.
            meta (dict): ``img_shape``, ``ori_shape``, ``scale_factor``.
            rescale (bool): Boxes and masks at ``ori_shape``.

        Returns:
            callable: ``render(params (m, P), boxes (m, 4) at output
            resolution) -> (m, T, H, W)`` bool.
        """
        scale = protos.new_ones(4)
        if rescale and 'scale_factor' in meta:
            scale = protos.new_tensor(meta['scale_factor']).repeat(2)

        def render(params: Tensor, boxes: Tensor) -> Tensor:
            with inference_stage('mask'):
                return self.mask_head.render(
                    protos,
                    params,
                    boxes.to(scale) * scale,
                    meta,
                    rescale,
                    crop_scale=1.0,
                    min_crop_size=0.0)

        return render

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[TrackSampleList] = None,
                 **kwargs) -> tuple:
        """Raw head outputs and prototypes of a batch of clips."""
        cubes = self.extract_clip_feat(inputs)
        return self.bbox_head(cubes), self.mask_head(cubes)
