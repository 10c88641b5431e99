"""Render each test video's predictions to an mp4 (``test.py --show-dir``)."""
import os.path as osp
from typing import Optional, Sequence, Tuple

import mmcv
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ..utils.atomic_io import refuse_writing_into_inputs
from .video_renderer import AtomicVideoWriter, VideoRenderer


def video_name(img_path: str) -> str:
    """The name of the video a frame belongs to: its folder's name."""
    return osp.basename(osp.dirname(img_path))


def frame_root(img_path: str) -> Tuple[str, str]:
    """(what, path) of the folder holding a frame's video folder (e.g.
    ``valid/JPEGImages``), or of the video folder itself where its path
    has no parent."""
    video_folder = osp.dirname(img_path)
    root = osp.dirname(video_folder)
    if root:
        return 'test frame folder', root
    return f'frame folder of video {video_name(img_path)}', video_folder


@HOOKS.register_module()
class VideoRenderHook(Hook):
    """Draw the tracked predictions of every test video (whole videos)
    into ``out_dir/<video name>.mp4``, atomically; a name met twice gets its
    ``video_id`` appended.

    Args:
        out_dir (str): Output folder, created if missing; not inside the
            test frames' folder.
        score_thr (float): Instances scoring below it are not drawn.
            Defaults to 0.3.
        fps (float): Frames per second of the videos. Defaults to 10.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str, score_thr: float = 0.3,
                 fps: float = 10.0) -> None:
        self.out_dir = out_dir
        self.score_thr = score_thr
        self.fps = fps
        self._renderer: Optional[VideoRenderer] = None
        self._written = set()

    def before_test(self, runner) -> None:
        self._written = set()

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if self._renderer is None:
            classes = (runner.test_dataloader.dataset.metainfo.get('classes')
                       if hasattr(runner, 'test_dataloader') else None)
            self._renderer = VideoRenderer(
                classes=classes, score_thr=self.score_thr)
        for track_sample in outputs or ():
            self.render_video(track_sample)

    def render_video(self, track_sample) -> str:
        """Render one video's ``TrackDataSample``; returns the file path."""
        frames = track_sample.video_data_samples
        first = frames[0].metainfo
        name = video_name(first['img_path'])
        length = first.get('ori_video_length', len(frames))
        if length != len(frames):
            raise ValueError(
                f'VideoRenderHook: video {name} has {length} frames but '
                f'its sample holds {len(frames)}; the test dataset must '
                'yield whole videos')
        refuse_writing_into_inputs('VideoRenderHook out_dir', self.out_dir,
                                   [frame_root(first['img_path'])])
        if name in self._written:
            name = f'{name}_{first.get("video_id")}'
        self._written.add(name)
        out_file = osp.join(self.out_dir, f'{name}.mp4')
        with AtomicVideoWriter(out_file, fps=self.fps) as writer:
            for frame in frames:
                image = mmcv.imread(frame.img_path, backend='cv2')
                if image is None:
                    raise FileNotFoundError(
                        f'VideoRenderHook: cannot read {frame.img_path}')
                writer.write(
                    self._renderer.draw(image, frame.pred_track_instances))
        return out_file
