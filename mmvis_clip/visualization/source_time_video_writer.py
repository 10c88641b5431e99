"""A video of the processed frames of a source, in the source's time.

When frames are dropped (a live source faster than the model), writing
only the processed frames at the source's fps would play the video too
fast: 38 processed frames of a 10 s stream at 25 fps make a 1.5 s video.
:class:`SourceTimeVideoWriter` keeps the source's clock instead: the video
is written at the source's fps and each processed frame is held (written
again) until the next processed frame, by their indices in the source. The
video then lasts as long as the stretch of the source it shows, and its
frame ``j`` is the source's frame ``first + j`` or the last processed
frame before it (the newest result at that time)::

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
    """Write frames numbered by their source index, holding each one until
    the next (see the module doc).

    One frame is held in memory (the last one given), never more.

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
        """Add the frame of source index ``source_index`` (increasing);
        the frame before it is written once per source frame between.

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
        """Write the last frame once and finish the video; returns its
        path."""
        if self._held is not None:
            self.writer.write(self._held)
            self._held = None
        return self.writer.close()

    def abort(self) -> None:
        """Drop the partial video."""
        self._held = None
        self.writer.abort()
