"""Frames of a video file or of a folder of images, one at a time."""
import os
import os.path as osp
import warnings
from typing import Iterator, List, Optional, Union

import cv2
import mmcv
import numpy as np

from ..utils.natural_sort import natural_sort_key
from ..utils.user_errors import UserError

#: File extensions read as frames in a frame folder (lower case).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')

#: Frames per second given to a frame folder, which has none of its own.
DEFAULT_FOLDER_FPS = 10.0


class FrameError(UserError):
    """A frame that is not an (H, W, 3) uint8 BGR image."""


class FrameSizeError(FrameError):
    """A frame whose size is not that of the video's first frame."""


def list_frame_files(folder: str) -> List[str]:
    """Image files of ``folder`` in natural order.

    Raises:
        FileNotFoundError: If ``folder`` holds no image file.
    """
    names = [
        name for name in os.listdir(folder)
        if osp.splitext(name)[1].lower() in IMAGE_EXTENSIONS
        and osp.isfile(osp.join(folder, name))
    ]
    if not names:
        raise FileNotFoundError(
            f'frame folder {folder} holds no image file (extensions '
            f'{", ".join(IMAGE_EXTENSIONS)})')
    return [osp.join(folder, name) for name in sorted(names,
                                                      key=natural_sort_key)]


def check_frame(frame: np.ndarray, name: str = 'frame') -> np.ndarray:
    """Check that ``frame`` is an (H, W, 3) uint8 BGR image.

    Raises:
        TypeError: ``frame`` is not an array.
        FrameError: Naming ``name`` and what is wrong.
    """
    if not isinstance(frame, np.ndarray):
        raise TypeError(f'{name}: expected an (H, W, 3) uint8 BGR numpy '
                        f'array or an image path, got {type(frame).__name__}')
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 \
            or min(frame.shape[:2]) < 1:
        raise FrameError(f'{name}: expected an (H, W, 3) uint8 BGR image, '
                         f'got shape {frame.shape} and dtype {frame.dtype}')
    return frame


def read_frame(frame: Union[str, os.PathLike, np.ndarray]) -> np.ndarray:
    """An (H, W, 3) uint8 BGR frame from an array or an image path (decoded
    as mmdet's ``LoadImageFromFile``).

    Raises:
        FileNotFoundError: If the path does not exist or cannot be decoded.
        FrameError: If the array is not (H, W, 3) uint8.
    """
    if isinstance(frame, (str, os.PathLike)):
        path = os.fspath(frame)
        if not osp.isfile(path):
            raise FileNotFoundError(f'frame {path} does not exist')
        try:
            image = mmcv.imread(path, flag='color', backend='cv2')
        except Exception as err:  # cv2/mmcv raise several types
            raise FileNotFoundError(
                f'frame {path} cannot be read as an image ({err})') from None
        if image is None:
            raise FileNotFoundError(
                f'frame {path} cannot be read as an image')
        return check_frame(image, path)
    return check_frame(frame)


def capture_frames(capture: cv2.VideoCapture,
                   name: str) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 BGR frames of an open ``capture`` until it delivers
    none, then released; ``name`` names the source in errors.

    Raises:
        FrameError: A frame that is not (H, W, 3) uint8.
    """
    try:
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield check_frame(frame, f'{name} frame {index}')
            index += 1
    finally:
        capture.release()


class FrameSource:
    """(H, W, 3) uint8 BGR frames, one at a time, of a video file (anything
    OpenCV reads) or a folder of images (natural order: ``2.jpg`` before
    ``10.jpg``).

    Args:
        path (str): A video file or a folder of frames.

    Attributes:
        name (str): The folder name or the file stem.
        description (str): ``video PATH`` or ``frame folder PATH``.
        fps (float): The file's frame rate, else
            :data:`DEFAULT_FOLDER_FPS`.
        num_frames (int, optional): Exact for a folder, the container's
            count for a file (None if unknown).

    Raises:
        FileNotFoundError: If ``path`` does not exist, is an empty folder or
            a file OpenCV cannot open as a video.
        FrameSizeError: While iterating, a folder frame whose size is not
            the first frame's.
    """

    #: Frames come from a file or folder, not a camera or a stream.
    is_live = False

    def __init__(self, path: Union[str, os.PathLike]) -> None:
        path = os.fspath(path)
        self.path = path
        self.frame_files: Optional[List[str]] = None
        if osp.isdir(path):
            self.frame_files = list_frame_files(path)
            self.description = f'frame folder {path}'
            self.name = osp.basename(osp.normpath(path))
            self.fps = DEFAULT_FOLDER_FPS
            self.num_frames: Optional[int] = len(self.frame_files)
        elif osp.isfile(path):
            capture = self._open_video()
            fps = capture.get(cv2.CAP_PROP_FPS)
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            capture.release()
            self.description = f'video {path}'
            self.name = osp.splitext(osp.basename(path))[0]
            self.fps = fps if fps and fps > 0 else DEFAULT_FOLDER_FPS
            self.num_frames = count if count > 0 else None
        else:
            raise FileNotFoundError(
                f'input {path} is neither a video file nor a folder of '
                'frames')

    def _open_video(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(self.path)
        if not capture.isOpened():
            capture.release()
            raise FileNotFoundError(
                f'video {self.path} cannot be opened (not a video OpenCV '
                'can read)')
        return capture

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.frame_files is not None:
            first_size = None
            for file in self.frame_files:
                frame = read_frame(file)
                if first_size is None:
                    first_size = frame.shape[:2]
                elif frame.shape[:2] != first_size:
                    raise FrameSizeError(
                        f'frame {file} is {frame.shape[1]}x{frame.shape[0]} '
                        f'(WxH) but the first frame {self.frame_files[0]} of '
                        f'the folder is {first_size[1]}x{first_size[0]}; all '
                        'frames of a video must have one size')
                yield frame
            return
        index = 0
        frames = capture_frames(self._open_video(), self.path)
        try:
            for frame in frames:
                yield frame
                index += 1
        finally:
            frames.close()  # releases the capture if the caller stops
        if index == 0:
            raise FileNotFoundError(
                f'video {self.path} has no frame that can be decoded')
        if self.num_frames is not None and index < self.num_frames:
            warnings.warn(
                f'video {self.path}: only {index} of the {self.num_frames} '
                'frames its container announces could be decoded (a '
                'truncated or damaged file?)')
