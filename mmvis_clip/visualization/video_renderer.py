"""Draw tracked instances on frames and write them as an mp4 video."""
import errno
import itertools
import os
import os.path as osp
import shutil
import tempfile
from typing import Optional, Sequence

import cv2
import numpy as np
from mmengine.structures import InstanceData

from ..structures.frame_result import as_numpy
from ..utils.atomic_io import new_file_mode
from ..utils.user_errors import os_errors_name
from .vis_local_visualizer import VISLocalVisualizer

_visualizer_names = itertools.count()


class AtomicVideoWriter:
    """Write an mp4 with OpenCV, atomically (a hidden temporary file moved
    over ``path`` by :meth:`close`, deleted by :meth:`abort` or an
    exception in a ``with`` block). The first frame sets the size; an odd
    width or height is padded with one black column or row.

    Args:
        path (str): Destination file, e.g. ``out/video.mp4``.
        fps (float): Frames per second. Defaults to 10.
        fourcc (str): Codec. Defaults to ``'mp4v'``.

    Attributes:
        frame_size (tuple): ``(width, height)`` of the frames written.
        size (tuple): ``(width, height)`` of the video: ``frame_size``
            rounded up to even numbers.
        num_frames (int): Frames written.
    """

    def __init__(self, path: str, fps: float = 10.0,
                 fourcc: str = 'mp4v') -> None:
        if not fps > 0:
            raise ValueError(f'{path}: fps must be > 0, got {fps}')
        self.path = os.fspath(path)
        self.fps = float(fps)
        self.fourcc = fourcc
        self.num_frames = 0
        self.frame_size = None
        self.size = None
        self._writer = None
        self._tmp_path: Optional[str] = None

    def write(self, frame: np.ndarray) -> None:
        """Append an (H, W, 3) uint8 BGR frame."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f'{self.path}: frame {self.num_frames} must be '
                             f'(H, W, 3) uint8, got {frame.shape} '
                             f'{frame.dtype}')
        size = (frame.shape[1], frame.shape[0])
        if self._writer is None:
            self._open(size)
        elif size != self.frame_size:
            raise ValueError(
                f'{self.path}: frame {self.num_frames} is {size[0]}x'
                f'{size[1]}, the video is {self.frame_size[0]}x'
                f'{self.frame_size[1]}')
        if self.padded:
            frame = cv2.copyMakeBorder(
                frame, 0, self.size[1] - size[1], 0, self.size[0] - size[0],
                cv2.BORDER_CONSTANT, value=(0, 0, 0))
        self._writer.write(np.ascontiguousarray(frame))
        self.num_frames += 1

    @property
    def padded(self) -> bool:
        """Whether the frames are padded to an even size."""
        return self.size is not None and self.size != self.frame_size

    def _open(self, size) -> None:
        folder = osp.dirname(osp.abspath(self.path))
        with os_errors_name(self.path):
            os.makedirs(folder, exist_ok=True)
            fd, self._tmp_path = tempfile.mkstemp(
                dir=folder, prefix='.' + osp.basename(self.path) + '.',
                suffix='.mp4')
            os.close(fd)
        # OpenCV cuts an odd width or height down to even: pad up instead
        even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
        self._writer = cv2.VideoWriter(self._tmp_path,
                                       cv2.VideoWriter_fourcc(*self.fourcc),
                                       self.fps, even)
        if not self._writer.isOpened():
            self.abort()
            raise RuntimeError(f'{self.path}: OpenCV cannot write a '
                               f'{self.fourcc!r} video of size {even}')
        self.frame_size, self.size = size, even

    def close(self) -> str:
        """Finish the file and move it to ``path``; returns ``path``.

        Raises:
            ValueError: If no frame was written (no file is made).
            OSError: If the video does not hold every frame (e.g. a full
                disk), naming ``path``; nothing is left.
        """
        if self._writer is None:
            raise ValueError(f'{self.path}: no frame was written')
        self._writer.release()
        self._writer = None
        try:
            self._check_written()
            with os_errors_name(self.path, self._tmp_path):
                # mkstemp makes the file private (0600): the usual mode
                os.chmod(self._tmp_path, new_file_mode())
                os.replace(self._tmp_path, self.path)
        except BaseException:
            self.abort()
            raise
        self._tmp_path = None
        return self.path

    def _check_written(self) -> None:
        """``OSError`` unless the temporary video holds every frame."""
        capture = cv2.VideoCapture(self._tmp_path)
        try:
            found = (int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
                     if capture.isOpened() else 0)
        finally:
            capture.release()
        if found == self.num_frames:
            return
        free = shutil.disk_usage(osp.dirname(self._tmp_path)).free
        code = errno.ENOSPC if free < 1 << 20 else errno.EIO
        raise OSError(
            code, f'{os.strerror(code)}: OpenCV could not write the whole '
            f'video ({max(found, 0)} of {self.num_frames} frames readable, '
            f'{free} bytes free on its disk)', self.path)

    def abort(self) -> None:
        """Drop the partial video."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._tmp_path is not None and osp.exists(self._tmp_path):
            os.remove(self._tmp_path)
        self._tmp_path = None

    def __enter__(self) -> 'AtomicVideoWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class VideoRenderer:
    """Draw tracked (or ground-truth) instances on frames: masks, boxes,
    class names and ids, one fixed colour per id.

    Args:
        classes (Sequence[str], optional): Class names by label.
        score_thr (float): Instances scoring below it are not drawn
            (instances without scores are always drawn). Defaults to 0.
        line_width (float): Box line width. Defaults to 2.
        alpha (float): Mask and box opacity. Defaults to 0.5.
    """

    def __init__(self,
                 classes: Optional[Sequence[str]] = None,
                 score_thr: float = 0.0,
                 line_width: float = 2,
                 alpha: float = 0.5) -> None:
        self.score_thr = float(score_thr)
        self.visualizer = VISLocalVisualizer(
            name=f'mmvis_clip_video_renderer_{next(_visualizer_names)}',
            line_width=line_width,
            alpha=alpha)
        self.visualizer.dataset_meta = dict(
            classes=tuple(classes) if classes else None)

    def draw(self, frame: np.ndarray, instances) -> np.ndarray:
        """Draw on a copy of ``frame``.

        Args:
            frame (np.ndarray): (H, W, 3) uint8 BGR.
            instances (FrameResult | InstanceData): ``instances_id``,
                ``labels``, optionally ``masks`` (n, H, W), ``bboxes``
                (n, 4), ``scores``.

        Returns:
            np.ndarray: (H, W, 3) uint8 BGR.
        """
        names = ('instances_id', 'labels', 'masks', 'bboxes', 'scores')
        if isinstance(instances, InstanceData):
            fields = {
                name: as_numpy(instances.get(name))
                for name in names if name in instances
            }
        else:  # a FrameResult
            fields = {name: getattr(instances, name) for name in names}
        if 'masks' in fields:
            fields['masks'] = fields['masks'].astype(bool, copy=False)
        if 'scores' in fields and len(fields['labels']):
            keep = fields['scores'] >= self.score_thr
            fields = {name: value[keep] for name, value in fields.items()}
        drawn = self.visualizer._draw_instances(frame[..., ::-1].copy(),
                                                InstanceData(**fields))
        return np.ascontiguousarray(drawn[..., ::-1])


def render_video(out_file: str,
                 frames_and_instances,
                 classes: Optional[Sequence[str]] = None,
                 fps: float = 10.0,
                 score_thr: float = 0.0) -> str:
    """Draw ``(frame, instances)`` pairs (see :meth:`VideoRenderer.draw`)
    into the mp4 ``out_file``, atomically; returns ``out_file``."""
    renderer = VideoRenderer(classes=classes, score_thr=score_thr)
    with AtomicVideoWriter(out_file, fps=fps) as writer:
        for frame, instances in frames_and_instances:
            writer.write(renderer.draw(frame, instances))
    return out_file
