"""The video codecs the demo writes, and whether this OpenCV can write one
(``docs/inference.md``, ``--codec``)."""
import os
import os.path as osp
import tempfile
from typing import List

import cv2

from ..utils.user_errors import UserError

#: Codecs of ``--codec``: FourCC -> what it is.
VIDEO_CODECS = {'mp4v': 'MPEG-4 Part 2', 'avc1': 'H.264'}

#: Other names accepted for a codec of :data:`VIDEO_CODECS`.
CODEC_ALIASES = {'h264': 'avc1'}

#: How to make a browser-playable copy of an mp4v video.
H264_CONVERSION = 'ffmpeg -i OUT.mp4 -c:v libx264 -pix_fmt yuv420p ' \
    'OUT_h264.mp4'


class CodecUnavailableError(UserError):
    """A codec the installed OpenCV / FFmpeg cannot write."""


def codec_fourcc(name: str) -> str:
    """The FourCC of a codec name or alias (``'h264'`` -> ``'avc1'``)."""
    return CODEC_ALIASES.get(name, name)


def video_codec_available(fourcc: str) -> bool:
    """Whether OpenCV can write an mp4 with ``fourcc`` (e.g. ``'avc1'``)
    here: a writer opened on a temporary file, quietly."""
    # imported here: the visualization package does not need the APIs
    from ..apis.live_frame_source import native_stderr_captured
    messages: List[str] = []
    folder = tempfile.mkdtemp(prefix='codec_probe_')
    path = osp.join(folder, 'probe.mp4')
    try:
        with native_stderr_captured(messages):
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc),
                                     10.0, (64, 64))
            opened = writer.isOpened()
            writer.release()
        return bool(opened)
    finally:
        if osp.exists(path):
            os.remove(path)
        os.rmdir(folder)


def check_video_codec(name: str, option: str = '--codec') -> str:
    """The FourCC of codec ``name`` if this OpenCV can write it.

    Args:
        name (str): A codec of :data:`VIDEO_CODECS` or an alias.
        option (str): The option that named it, for the message.

    Returns:
        str: The FourCC, e.g. ``'avc1'`` for ``'h264'``.

    Raises:
        CodecUnavailableError: An unknown codec or one this OpenCV cannot
            write.
    """
    fourcc = codec_fourcc(name)
    if fourcc not in VIDEO_CODECS:
        raise CodecUnavailableError(
            f'{option} {name}: not one of '
            f'{sorted(VIDEO_CODECS) + sorted(CODEC_ALIASES)}')
    if not video_codec_available(fourcc):
        raise CodecUnavailableError(
            f'{option} {name}: this OpenCV ({cv2.__version__}) cannot '
            f'write {VIDEO_CODECS[fourcc]} ({fourcc!r}) videos (its FFmpeg '
            'has no such encoder); write --codec mp4v and convert it: '
            f'{H264_CONVERSION}')
    return fourcc
