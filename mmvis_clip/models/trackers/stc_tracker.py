"""Online tracker of STC: a memory bank matched frame by frame."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

from .vis_tracker_base import VISTrackerBase

REQUIRED_FIELDS = ('bboxes', 'labels', 'scores', 'embeddings')


@MODELS.register_module()
class STCTracker(VISTrackerBase):
    """STC's online tracker (STC paper, Sec. 3.5 "Inference on Video").

    Matches each frame's detections to a memory bank as MaskTrack R-CNN:

    ``score(i, j) = log softmax_j(s_i) + w_s * log(det_score_i)
    + w_iou * IoU(box_i, box_j) + w_label * [label_i == label_j]``

    with ``s_i = [0, e_i . m_1, ..., e_i . m_M]``, column 0 the "new track"
    dummy (``configs/stc/README.md``, "Association").

    Args:
        match_weights (dict[str, float]): ``det_score`` (w_s), ``iou``
            (w_iou), ``det_label`` (w_label). Defaults to
            ``dict(det_score=1.0, iou=2.0, det_label=10.0)``.
        num_frames_retain (int): Frames a track is kept after it was last
            seen. Defaults to 20.
        momentums (dict[str, float], optional): Only ``embeddings``.
            Defaults to None (latest).
        assignment (str): ``'argmax'`` or ``'hungarian'``. Defaults to
            ``'argmax'``.
        embed_similarity (str): ``'dot'`` or ``'cosine'``
            (``s_i = tau * [c0, cos(e_i, m_1), ...]``). Defaults to
            ``'dot'``.
        cosine_temperature (float): ``tau``. Defaults to 10.
        new_track_cosine (float): ``c0``. Defaults to 0.5.

    Raises:
        ValueError: If an argument has an unknown value or keys.
    """

    def __init__(self,
                 match_weights: Dict[str, float] = dict(
                     det_score=1.0, iou=2.0, det_label=10.0),
                 num_frames_retain: int = 20,
                 momentums: Optional[Dict[str, float]] = None,
                 assignment: str = 'argmax',
                 embed_similarity: str = 'dot',
                 cosine_temperature: float = 10.0,
                 new_track_cosine: float = 0.5) -> None:
        if embed_similarity not in ('dot', 'cosine'):
            raise ValueError("embed_similarity must be 'dot' or 'cosine', "
                             f'got {embed_similarity!r}.')
        self.embed_similarity = embed_similarity
        self.cosine_temperature = cosine_temperature
        self.new_track_cosine = new_track_cosine
        expected = {'det_score', 'iou', 'det_label'}
        if set(match_weights) != expected:
            raise ValueError(f'match_weights must have exactly the keys '
                             f'{sorted(expected)}, got '
                             f'{sorted(match_weights)}.')
        if momentums is not None and set(momentums) - {'embeddings'}:
            raise ValueError('STCTracker momentums may only name '
                             f"'embeddings', got {sorted(momentums)}.")
        self.match_weights = dict(match_weights)
        super().__init__(
            num_frames_retain=num_frames_retain,
            momentums=momentums,
            assignment=assignment)

    def get_match_score(self, bboxes: Tensor, labels: Tensor, scores: Tensor,
                        embeddings: Tensor, prev_bboxes: Tensor,
                        prev_labels: Tensor,
                        prev_embeddings: Tensor) -> Tensor:
        """Score every detection against every track and the dummy.

        Args:
            bboxes, labels, scores, embeddings (Tensor): The N detections':
                (N, 4) x1y1x2y2, (N, ), (N, ) in (0, 1], (N, D).
            prev_bboxes, prev_labels, prev_embeddings (Tensor): The M
                tracks': (M, 4), (M, ), (M, D).

        Returns:
            Tensor: (N, M + 1) match scores, column 0 for a new track.
        """
        if self.embed_similarity == 'cosine':
            logits = self.cosine_temperature * (
                F.normalize(embeddings.float(), dim=1)
                @ F.normalize(prev_embeddings.float(), dim=1).t())
            new = self.cosine_temperature * self.new_track_cosine
        else:
            logits = embeddings.float() @ prev_embeddings.float().t()
            new = 0.
        logits = torch.cat([logits.new_full((len(logits), 1), new), logits],
                           dim=1)
        match_score = F.log_softmax(logits, dim=1)

        log_scores = scores.float().clamp(
            min=torch.finfo(torch.float32).tiny).log()
        match_score += self.match_weights['det_score'] * log_scores[:, None]

        ious = bbox_overlaps(bboxes.float(), prev_bboxes.float())
        match_score[:, 1:] += self.match_weights['iou'] * ious

        same_label = (labels.view(-1, 1) == prev_labels.view(1, -1)).float()
        match_score[:, 1:] += self.match_weights['det_label'] * same_label
        match_score[:, 0] += self.match_weights['det_label']
        return match_score

    def track(self, data_sample: DetDataSample, **kwargs) -> InstanceData:
        """Give the detections of one frame their track ids.

        Args:
            data_sample (DetDataSample): The frame, ``frame_id`` in its
                metainfo (increasing within a video), ``pred_instances``
                with ``bboxes`` (N, 4), ``labels``, ``scores`` (N, ) and
                ``embeddings`` (N, D); other fields pass through.
            **kwargs: Unused (mmdet passes ``model=``, ``feats=``).

        Returns:
            InstanceData: A copy of ``pred_instances`` with
            ``instances_id`` (N, ) long, in the same order.
        """
        frame_id = data_sample.metainfo.get('frame_id')
        assert frame_id is not None, 'frame_id None in the sample metainfo'
        pred = data_sample.pred_instances
        missing = [f for f in REQUIRED_FIELDS if f not in pred]
        assert not missing, f'frame {frame_id}: pred_instances lack {missing}'
        bboxes, labels = pred.bboxes, pred.labels
        scores, embeddings = pred.scores, pred.embeddings
        assert bboxes.dim() == 2 and bboxes.shape[1] == 4 and \
            embeddings.dim() == 2, \
            f'bboxes {tuple(bboxes.shape)}, embeddings {embeddings.shape}'

        track_ids = self.ids
        if len(pred) == 0 or not track_ids:
            ids = self.allocate_ids(len(pred))
        else:
            match_scores = self.get_match_score(
                bboxes, labels, scores, embeddings,
                self.get('bboxes', track_ids).to(bboxes.device),
                torch.tensor([self.tracks[i].last_label for i in track_ids],
                             device=labels.device),
                self.get('embeddings', track_ids).to(embeddings.device))
            ids = self.assign_ids(match_scores[:, 1:], match_scores[:, 0],
                                  track_ids)
        self.update(
            frame_id,
            ids,
            labels,
            bboxes=bboxes,
            embeddings=embeddings)

        pred_track_instances = pred.clone()
        pred_track_instances.instances_id = ids.to(labels.device)
        return pred_track_instances
