"""YouTube-VIS / OVIS metric for mmengine evaluators."""
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mmdet.evaluation.metrics import YouTubeVISMetric
from mmdet.registry import METRICS
from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_world_size, is_main_process)
from mmengine.logging import MMLogger

from ...structures import VISFormatError, dump_vis_results
from ...structures.video_results import VideoResults
from ...structures.vis_format import load_json
from ..functional import (HOTA_AVERAGES, HOTA_STAT_NAMES, OCCLUSION_STAT_NAMES,
                          VIS_STAT_NAMES, evaluate_vis, format_vis_stats)


@METRICS.register_module()
class VISMetric(YouTubeVISMetric):
    """AP/AR of video instance segmentation with the project's evaluator
    (:func:`~mmvis_clip.evaluation.functional.evaluate_vis`).

    Ground truth: ``ann_file`` as is (videos without samples count as
    missed), else rebuilt from the samples as mmdet does but with mask
    areas. Label ``i`` is written as ``dataset_meta['cat_ids'][i]``, else
    the id of the ``ann_file`` category named ``classes[i]`` (when all are
    found), else ``i + 1``.

    Args:
        ann_file (str, optional): Raw YouTube-VIS / OVIS json (not the
            CocoVID one); without ``format_only``, one without videos or
            annotations is refused here.
        format_only (bool): Only write the results, compute no metric.
        outfile_prefix (str, optional): Directory for ``results.json`` and
            ``submission.zip`` (needed with ``format_only``).
        metric_items (Sequence[str], optional): Stats to return, among
            :data:`VIS_STAT_NAMES`, :data:`OCCLUSION_STAT_NAMES` (need
            occlusion labels in ``ann_file``) and :data:`HOTA_STAT_NAMES`
            (need ``hota=True``). Defaults to all available.
        hota (bool): Also compute HOTA, DetA, AssA, LocA and IDF1
            (TrackEval).
        hota_score_thr (float, optional): HOTA counts only predictions
            scoring at least this (default: all, as TrackEval).
        hota_average (str): ``'detection'`` (default) or ``'class'``.
        collect_device (str): Unused (mmdet's signature): results are
            gathered with ``all_gather_object``.
        prefix (str, optional): Key prefix, defaults to ``youtube_vis``;
            values in [0, 1] (-1 where undefined).
    """

    default_prefix: Optional[str] = 'youtube_vis'

    def __init__(self,
                 ann_file: Optional[str] = None,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 metric_items: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 hota: bool = False,
                 hota_score_thr: Optional[float] = None,
                 hota_average: str = 'detection') -> None:
        if hota_average not in HOTA_AVERAGES:
            raise ValueError(f'VISMetric: hota_average must be one of '
                             f'{list(HOTA_AVERAGES)}, got {hota_average!r}')
        if format_only and outfile_prefix is None:
            raise ValueError(
                'VISMetric: format_only=True needs outfile_prefix (the '
                'directory for results.json and submission.zip), or the '
                'results would be lost')
        if ann_file is not None and not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'VISMetric: ann_file {ann_file} does not exist')
        if ann_file is not None and not format_only:
            self._check_has_ground_truth(ann_file)
        known = VIS_STAT_NAMES + OCCLUSION_STAT_NAMES + HOTA_STAT_NAMES
        if metric_items is not None:
            metric_items = list(metric_items)
            unknown = [item for item in metric_items if item not in known]
            if unknown:
                raise KeyError(f'VISMetric: unknown metric items {unknown}; '
                               f'choose among {list(known)}')
            needs_hota = [i for i in metric_items if i in HOTA_STAT_NAMES]
            if needs_hota and not hota:
                raise KeyError(f'VISMetric: metric items {needs_hota} need '
                               'hota=True')
        super().__init__(
            metric='youtube_vis_ap',
            metric_items=metric_items,
            outfile_prefix=outfile_prefix,
            collect_device=collect_device,
            prefix=prefix,
            format_only=format_only)
        self.ann_file = ann_file
        self._cat_ids: Optional[List[int]] = None  # of the dataset meta
        self.hota = hota
        self.hota_score_thr = hota_score_thr
        self.hota_average = hota_average

    @staticmethod
    def _check_has_ground_truth(ann_file: str) -> None:
        """Refuse, before any test runs, an ``ann_file`` without videos or
        annotations to evaluate on (a split scored by a server)."""
        gt = load_json(ann_file)
        for key in ('videos', 'annotations'):
            if isinstance(gt, dict) and isinstance(gt.get(key), list) \
                    and not gt[key]:
                raise VISFormatError(
                    f'VISMetric: ann_file {ann_file} has no {key}; nothing '
                    'to evaluate (for a split without ground truth, set '
                    'format_only=True and outfile_prefix, e.g. tools/test.py '
                    '--format-only --out DIR)')

    def evaluate(self, size: int = 1) -> dict:
        """Gather every rank's videos on rank 0 through the process group,
        compute the metrics there and share them (``size`` is unused).

        Returns:
            dict: The metrics, with the prefix, on every rank.
        """
        videos = self._vis_meta_info['videos']
        if get_world_size() > 1:
            results = [
                item for part in all_gather_object(self.results)
                for item in part
            ]
            videos = [
                video for part in all_gather_object(videos) for video in part
            ]
        else:
            results = list(self.results)
        self._vis_meta_info = dict(videos=videos)
        metrics = [None]
        try:
            if is_main_process():
                values = self.compute_metrics(results)
                if self.prefix:
                    values = {
                        f'{self.prefix}/{k}': v
                        for k, v in values.items()
                    }
                metrics = [values]
        finally:
            # a fresh defaultdict (mmdet leaves a plain dict, on which the
            # next round's process() fails): the metric runs every epoch
            self.results.clear()
            self._vis_meta_info = defaultdict(list)
            self._cat_ids = None
        broadcast_object_list(metrics)
        return metrics[0]

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        """Collect the predictions (and ground truth) of whole videos.

        Args:
            data_batch (dict): Unused.
            data_samples (Sequence[dict | TrackDataSample]): One per video,
                its ``video_data_samples`` holding every frame with
                ``pred_track_instances`` (masks at the original size).
        """
        for track_sample in data_samples:
            frames = track_sample['video_data_samples'] if isinstance(
                track_sample, dict) else track_sample.video_data_samples
            video_id = frames[0].metainfo.get('video_id')
            video_length = frames[0].metainfo.get('ori_video_length')
            if video_length != len(frames):
                raise VISFormatError(
                    f'VISMetric: video {video_id} has {video_length} frames '
                    f'but its sample holds {len(frames)}; the test dataset '
                    'must yield whole videos')
            self.process_video(frames)
            # mmdet's video records lack the length the evaluator checks
            self._vis_meta_info['videos'][-1]['length'] = len(frames)

    def _format_one_video_preds(self, pred_dicts: Sequence[dict]) -> List:
        """One video's results (:class:`VideoResults`, category ids as in
        the class doc).

        Args:
            pred_dicts (Sequence[dict]): Per frame, ``masks`` (RLEs),
                ``scores``, ``labels`` and ``instances_id``.
        """
        if self._cat_ids is None:
            self._cat_ids = self.label_category_ids()
        video = VideoResults(self._vis_meta_info['videos'][-1]['id'],
                             self._cat_ids)
        for frame_index, pred in enumerate(pred_dicts):
            video.add(frame_index, pred['instances_id'], pred['labels'],
                      pred['scores'], pred['masks'])
        return video.results(len(pred_dicts))

    def _label_to_category_ids(
            self, gt_categories: Optional[List[dict]]) -> List[int]:
        """Category id of each label (see the class doc)."""
        meta = self.dataset_meta or {}
        classes = list(meta.get('classes') or [])
        if meta.get('cat_ids') is not None:
            cat_ids = [int(i) for i in meta['cat_ids']]
            if classes and len(cat_ids) != len(classes):
                raise ValueError(
                    f"VISMetric: dataset_meta has {len(cat_ids)} 'cat_ids' "
                    f'for {len(classes)} classes')
            return cat_ids
        if gt_categories is not None and classes:
            by_name = {cat.get('name'): cat['id'] for cat in gt_categories}
            if all(name in by_name for name in classes):
                return [by_name[name] for name in classes]
        if not classes:
            raise ValueError("VISMetric: dataset_meta needs 'classes'")
        return list(range(1, len(classes) + 1))

    def label_category_ids(self) -> List[int]:
        """The category id written for each label (see the class doc);
        needs ``dataset_meta``."""
        gt = load_json(self.ann_file) if self.ann_file else None
        return self._label_to_category_ids(
            gt.get('categories') if isinstance(gt, dict) else None)

    def _ground_truth_from_samples(self, gt_parts: Sequence[List[dict]],
                                   cat_ids: List[int]) -> dict:
        gt = self.format_gts(gt_parts)
        gt['categories'] = [
            dict(id=cat_id, name=name)
            for cat_id, name in zip(cat_ids, self.dataset_meta['classes'])
        ]
        for ann_id, ann in enumerate(gt['annotations'], 1):
            ann['category_id'] = cat_ids[ann['category_id'] - 1]
            ann['id'] = ann_id
            # box areas in mmdet's records; the evaluator uses mask areas
            ann.pop('areas', None)
        return gt

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Write and/or evaluate the collected results.

        Args:
            results (list[tuple[list, list]]): Per video, the formatted
                predictions and ground truth.

        Returns:
            dict[str, float]: Stats by name (empty with ``format_only``).
        """
        logger: MMLogger = MMLogger.get_current_instance()
        pred_parts, gt_parts = zip(*results) if results else ((), ())
        gt = load_json(self.ann_file) if self.ann_file else None
        cat_ids = self._label_to_category_ids(
            gt.get('categories') if isinstance(gt, dict) else None)
        preds = self.format_preds(pred_parts)

        if self.outfile_prefix is not None:
            json_path, zip_path = dump_vis_results(preds, self.outfile_prefix)
            logger.info(f'VIS results written to {json_path}; submit '
                        f'{zip_path} to the evaluation server')
        if self.format_only:
            return dict()

        if gt is None:
            gt = self._ground_truth_from_samples(gt_parts, cat_ids)
        else:
            evaluated = {v['id'] for v in self._vis_meta_info['videos']}
            missing = [
                v['id'] for v in gt.get('videos', [])
                if v.get('id') not in evaluated
            ]
            if missing:
                logger.warning(
                    f'VISMetric: {len(missing)} of {len(gt["videos"])} '
                    f'videos of {self.ann_file} got no samples and count '
                    'as missed')
        stats = evaluate_vis(
            gt,
            preds,
            hota=self.hota,
            hota_score_thr=self.hota_score_thr,
            hota_average=self.hota_average,
            gt_name=self.ann_file or 'ground truth of the test samples')
        names = self.metric_items or list(stats)
        absent = [name for name in names if name not in stats]
        if absent:
            raise KeyError(f'VISMetric: metric items {absent} need OVIS '
                           'occlusion labels in ann_file')
        logger.info('VIS evaluation:\n' + format_vis_stats(stats, names))
        return {name: stats[name] for name in names}
