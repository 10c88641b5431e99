"""Frames read ahead by a thread into a bounded buffer, dropped by policy
(``'none'``: the reader waits; ``'oldest'``: the oldest waiting frame;
``'newest'``: the arriving frame; see ``docs/inference.md``)::

    with FrameReader(source, policy='oldest', timeout=10,
                     name='camera 0') as reader:
        for source_index, frame in reader:
            ...
"""
import threading
from collections import deque
from typing import Iterable, Iterator, Optional, Tuple

import numpy as np

from ..utils.user_errors import UserError

#: Accepted values of ``FrameReader(policy=...)``.
DROP_POLICIES = ('none', 'oldest', 'newest')


class StreamTimeoutError(UserError):
    """A source that delivered no frame for longer than its timeout."""


class FrameReader:
    """Iterate ``(source_index, frame)`` of ``frames``, read by a thread.

    Args:
        frames (Iterable[np.ndarray]): The source, iterated once in the
            thread; its exception is raised after the frames before it.
        policy (str): One of :data:`DROP_POLICIES`. Defaults to ``'none'``.
        queue_size (int): Most frames buffered. Defaults to 1.
        timeout (float, optional): Seconds to wait for a frame; None waits
            as long as the source takes.
        max_frames (int, optional): Stop after yielding this many frames.
        name (str): The source in error messages, e.g. ``'camera 0'``.

    Raises:
        ValueError: If an argument is out of range.
        StreamTimeoutError: While iterating, no frame for ``timeout`` s.

    Attributes:
        num_read, num_taken, num_dropped (int): Frames read, yielded,
            dropped by the policy.
        num_unprocessed (int): Frames read but neither yielded nor dropped.
        max_buffered (int): Most frames the buffer held at once.
    """

    def __init__(self,
                 frames: Iterable[np.ndarray],
                 policy: str = 'none',
                 queue_size: int = 1,
                 timeout: Optional[float] = None,
                 max_frames: Optional[int] = None,
                 name: str = 'source') -> None:
        if policy not in DROP_POLICIES:
            raise ValueError(f'drop policy {policy!r} is not one of '
                             f'{DROP_POLICIES}')
        if int(queue_size) < 1:
            raise ValueError(f'queue_size must be >= 1, got {queue_size}')
        if timeout is not None and not timeout > 0:
            raise ValueError(f'timeout must be > 0 seconds, got {timeout}')
        if max_frames is not None and int(max_frames) < 1:
            raise ValueError(f'max_frames must be >= 1, got {max_frames}')
        self.frames = frames
        self.policy = policy
        self.queue_size = int(queue_size)
        self.timeout = timeout
        self.max_frames = None if max_frames is None else int(max_frames)
        self.name = name
        self.num_read = 0
        self.num_taken = 0
        self.num_dropped = 0
        self.max_buffered = 0
        self._buffer: deque = deque()
        self._cond = threading.Condition()
        self._stopped = False  # set by close(): the reader must stop
        self._ended = False  # set by the reader: no more frames will come
        self._error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def num_unprocessed(self) -> int:
        return self.num_read - self.num_taken - self.num_dropped

    def buffered_indices(self) -> list:
        """Source indices of the frames in the buffer now, oldest first."""
        with self._cond:
            return [index for index, _ in self._buffer]

    def _read_limit_reached(self) -> bool:
        return (self.policy == 'none' and self.max_frames is not None
                and self.num_read >= self.max_frames)

    def _read(self) -> None:
        """The reader thread: source frames into the buffer."""
        iterator = iter(self.frames)
        try:
            while True:
                with self._cond:
                    if self._stopped or self._read_limit_reached():
                        return
                try:
                    frame = next(iterator)
                except StopIteration:
                    return
                with self._cond:
                    index = self.num_read
                    self.num_read += 1
                    if len(self._buffer) >= self.queue_size:
                        if self.policy == 'none':
                            self._cond.wait_for(lambda: self._stopped or len(
                                self._buffer) < self.queue_size)
                            if self._stopped:
                                return
                        elif self.policy == 'oldest':
                            self._buffer.popleft()
                            self.num_dropped += 1
                        else:  # 'newest'
                            self.num_dropped += 1
                            continue
                    self._buffer.append((index, frame))
                    self.max_buffered = max(self.max_buffered,
                                            len(self._buffer))
                    self._cond.notify_all()
        except BaseException as err:  # raised again by the consumer
            with self._cond:
                self._error = err
        finally:
            close = getattr(iterator, 'close', None)
            if close is not None:
                close()  # e.g. a generator releases its capture
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def start(self) -> 'FrameReader':
        """Start the reader thread (once); iterating starts it too."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._read, name=f'FrameReader({self.name})',
                daemon=True)
            self._thread.start()
        return self

    def __iter__(self) -> Iterator[Tuple[int, np.ndarray]]:
        self.start()
        timed_out = False
        try:
            while self.max_frames is None or \
                    self.num_taken < self.max_frames:
                with self._cond:
                    ready = self._cond.wait_for(
                        lambda: self._buffer or self._ended, self.timeout)
                    if not ready:
                        timed_out = True
                        raise StreamTimeoutError(
                            f'{self.name} delivered no frame for '
                            f'{self.timeout:g} s (after {self.num_read} '
                            'frames); is it still streaming?')
                    if not self._buffer:
                        if self._error is not None:
                            raise self._error
                        return
                    item = self._buffer.popleft()
                    self.num_taken += 1
                    self._cond.notify_all()
                yield item
        finally:
            # a source that timed out is likely blocked in a read
            self.close(join_timeout=0 if timed_out else 5.0)

    def close(self, join_timeout: float = 5.0) -> None:
        """Stop reading; wait up to ``join_timeout`` s for the thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(join_timeout)

    def __enter__(self) -> 'FrameReader':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def stats(self) -> dict:
        """``policy``, ``queue_size`` and the frame counts, for reports."""
        return dict(
            drop_policy=self.policy,
            queue_size=self.queue_size,
            frames_read=self.num_read,
            frames_processed=self.num_taken,
            frames_dropped=self.num_dropped,
            frames_unprocessed=self.num_unprocessed)
