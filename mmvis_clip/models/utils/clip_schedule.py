"""Cut a stream of frames into the overlapping clips of CiCo's inference."""
from typing import Any, List, Optional


class ClipSchedule:
    """Frames in, clips out: the one owner of CiCo's clip schedule.

    Clips of ``clip_len`` frames start at frames ``0, s, 2s, ...`` with
    stride ``s = clip_len - overlap`` (CiCo paper, Sec. 3.4 and Table 2:
    ``overlap`` = To), until a clip reaches the last frame. A clip running
    past the video's end (the last one, or the only one of a video shorter
    than ``clip_len``) is padded by repeating the last frame, as the clip
    sampler does in training; e.g. 5 frames, ``clip_len=3``, ``overlap=1``
    give ``[[0, 1, 2], [2, 3, 4]]`` and 6 frames give ``[[0, 1, 2],
    [2, 3, 4], [4, 5, 5]]``. Only the frames of the next clip are kept.

    Args:
        clip_len (int): Frames per clip T (>= 1).
        overlap (int): Frames shared by consecutive clips, ``0 <= overlap <
            clip_len``.
    """

    def __init__(self, clip_len: int, overlap: int) -> None:
        assert isinstance(clip_len, int) and clip_len >= 1, clip_len
        assert isinstance(overlap, int) and 0 <= overlap < clip_len, overlap
        self.clip_len = clip_len
        self.overlap = overlap
        self.reset()

    def reset(self) -> None:
        """Start a new video."""
        self.buffer: List[Any] = []
        self.num_new = 0  # buffered frames not yet in a clip

    def push(self, frame: Any) -> Optional[List[Any]]:
        """Add the next frame (anything); the clip it completes, if any.

        Returns:
            list | None: ``clip_len`` frames, or None.
        """
        self.buffer.append(frame)
        self.num_new += 1
        if len(self.buffer) < self.clip_len:
            return None
        clip = self.buffer
        self.buffer = clip[self.clip_len - self.overlap:]
        self.num_new = 0
        return clip

    def end(self) -> Optional[List[Any]]:
        """End the video: the padded last clip if frames are left that no
        clip has covered, else None; then :meth:`reset`.

        Returns:
            list | None: ``clip_len`` frames, or None.
        """
        clip = None
        if self.num_new:
            clip = self.buffer + [self.buffer[-1]] * (
                self.clip_len - len(self.buffer))
        self.reset()
        return clip
