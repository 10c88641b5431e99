"""A video of the processed frames of a source, in the source's time
(``docs/inference.md``, ``--out``): each frame is held until the next::

    writer = SourceTimeVideoWriter(AtomicVideoWriter('out.mp4', fps=25))
    writer.write(drawn_0, 0)
    writer.write(drawn_3, 3)    # drawn_0 is written 3 times (0, 1, 2)
    writer.write(drawn_9, 9)    # drawn_3 6 times (3 to 8)
    writer.close()              # drawn_9 once: 10 frames, 0.4 s
"""
from typing import Optional

import numpy as np

from .video_renderer import AtomicVideoWriter


class SourceTimeVideoWriter:
    """Write frames numbered by their source index, holding each one (in
    memory: the last one only) until the next.

    Args:
        writer (AtomicVideoWriter): The video, at the source's fps.

    Attributes:
        first_index (int, optional): Source index of the first frame.
        last_index (int, optional): Source index of the last frame.
    """

    def __init__(self, writer: AtomicVideoWriter) -> None:
        self.writer = writer
        self.path = writer.path
        self.first_index: Optional[int] = None
        self.last_index: Optional[int] = None
        self._held: Optional[np.ndarray] = None

    def write(self, frame: np.ndarray, source_index: int) -> None:
        """Add the frame of source index ``source_index`` (increasing).

        Raises:
            ValueError: If ``source_index`` is not after the last one.
        """
        source_index = int(source_index)
        if self.last_index is not None:
            if source_index <= self.last_index:
                raise ValueError(
                    f'{self.path}: source frame {source_index} comes after '
                    f'source frame {self.last_index}')
            for _ in range(source_index - self.last_index):
                self.writer.write(self._held)
        else:
            self.first_index = source_index
        self._held, self.last_index = frame, source_index

    @property
    def num_frames(self) -> int:
        """Frames in the video (the held one included)."""
        return self.writer.num_frames + (self._held is not None)

    def close(self) -> str:
        """Write the last frame once, finish the video; return its path."""
        if self._held is not None:
            self.writer.write(self._held)
            self._held = None
        return self.writer.close()

    def abort(self) -> None:
        """Drop the partial video."""
        self._held = None
        self.writer.abort()
