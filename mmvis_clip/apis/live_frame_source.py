"""Frames of a camera or a stream URL, and :func:`open_frame_source`, the
one way to open an input: a camera index (``0``), a URL (``scheme://``) or
a video file or frame folder (a digits-only path written as ``./0``)."""
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator, List, Optional, Union
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from ..utils.user_errors import UserError
from .frame_source import DEFAULT_FOLDER_FPS, FrameSource, capture_frames

#: ``scheme://...``: a stream URL rather than a path.
_URL = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


class SourceError(UserError):
    """A camera or stream that cannot be opened or delivers no frame."""


def live_source_of(text: str) -> Optional[Union[int, str]]:
    """The camera index (digits) or URL (``scheme://``) that ``text``
    names, or None for a path."""
    text = os.fspath(text)
    if text.isdigit():
        return int(text)
    if _URL.match(text):
        return text
    return None


def redact_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ''
    if parts.port is not None:
        host = f'{host}:{parts.port}'
    return urlunsplit(parts._replace(netloc=f'{parts.username}:***@{host}'))


def redact_message(message: str, url: str) -> str:
    """``message`` with ``url`` and its ``user:password@`` part redacted
    (only there: other words containing the password are kept)."""
    parts = urlsplit(url)
    if parts.password is None:
        return message
    message = message.replace(url, redact_url(url))
    return message.replace(f'{parts.username}:{parts.password}@',
                           f'{parts.username}:***@')


@contextmanager
def native_stderr_captured(lines: List[str]):
    """Within: native writes to file descriptor 2 go to ``lines`` (filled
    on exit)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode='w+b') as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode('utf-8', 'replace')
            lines.extend(line.strip() for line in text.splitlines()
                         if line.strip())


#: FFmpeg's prefix of a log line, e.g. ``[tcp @ 0x55ea6b51bb40] ``.
_FFMPEG_PREFIX = re.compile(r'^\[[\w-]+ @ 0x[0-9a-f]+\]\s*')


def ffmpeg_reason(lines: List[str]) -> Optional[str]:
    """The last FFmpeg log line of ``lines`` without its prefix."""
    for line in reversed(lines):
        if _FFMPEG_PREFIX.match(line):
            return _FFMPEG_PREFIX.sub('', line)
    return None


class LiveFrameSource:
    """The frames of a camera or of a stream URL, as they arrive (blocking
    reads: wrap it in a :class:`~mmvis_clip.apis.frame_reader.FrameReader`).
    Opened at construction; attributes as
    :class:`~mmvis_clip.apis.FrameSource`'s.

    Args:
        source (int | str): A camera index or a URL.
        timeout (float): Seconds to open a URL; FFmpeg's read timeout is
            ``2 * timeout + 1``, so a ``FrameReader`` with ``timeout``
            reports a stall first. Defaults to 10.

    Attributes:
        description (str): ``camera 0`` or ``stream URL`` (no password).

    Raises:
        SourceError: If the camera or the URL cannot be opened, or (while
            iterating) delivers no frame.
    """

    #: Frames come from a camera or a stream.
    is_live = True
    num_frames = None
    frame_files = None

    def __init__(self, source: Union[int, str],
                 timeout: float = 10.0) -> None:
        if not timeout > 0:
            raise ValueError(f'timeout must be > 0 seconds, got {timeout}')
        self.source = source
        self.timeout = float(timeout)
        if isinstance(source, int):
            self.path = str(source)
            self.name = f'camera{source}'
            self.description = f'camera {source}'
        else:
            self.path = source
            self.description = f'stream {redact_url(source)}'
            parts = urlsplit(source)
            stem = os.path.splitext(os.path.basename(parts.path))[0]
            self.name = stem or parts.hostname or 'stream'
        self._capture: Optional[cv2.VideoCapture] = self._open()
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        # cameras and streams report 0, NaN or 1000+ when they do not know
        self.fps = fps if fps and 0 < fps <= 240 else DEFAULT_FOLDER_FPS

    def _open(self) -> cv2.VideoCapture:
        messages: List[str] = []
        with native_stderr_captured(messages):
            if isinstance(self.source, int):
                capture = cv2.VideoCapture(self.source)
            else:
                capture = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, [
                    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                    int(self.timeout * 1000),
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                    int((2 * self.timeout + 1) * 1000)
                ])
            opened = capture.isOpened()
        if opened:
            for line in messages:  # nothing of a working source is hidden
                print(line, file=sys.stderr)
            return capture
        capture.release()
        if isinstance(self.source, int):
            reason = 'no such camera, or it is in use'
        else:
            reason = ffmpeg_reason(messages) or (
                'unreachable, refused, not a video stream, or not answering '
                f'within {self.timeout:g} s')
            reason = redact_message(reason, self.source)
        raise SourceError(f'{self.description} cannot be opened ({reason})')

    def __iter__(self) -> Iterator[np.ndarray]:
        capture, self._capture = self._capture or self._open(), None
        index = 0
        frames = capture_frames(capture, self.description)
        try:
            for frame in frames:
                yield frame
                index += 1
        finally:
            frames.close()  # releases the capture if the caller stops
        if index == 0:
            raise SourceError(f'{self.description} was opened but '
                              'delivered no frame')

    def release(self) -> None:
        """Close the capture opened at construction, if not iterated."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def open_frame_source(
        text: str,
        timeout: float = 10.0) -> Union[FrameSource, LiveFrameSource]:
    """The frames of the input a user names.

    Args:
        text (str): A camera index, a URL, a video file or a frame folder.
        timeout (float): Open and read timeout of a URL (seconds).

    Raises:
        SourceError: A camera or URL that cannot be opened.
        FileNotFoundError: A path that is no video or frame folder.
    """
    live = live_source_of(text)
    if live is None:
        return FrameSource(text)
    return LiveFrameSource(live, timeout=timeout)
