"""One way for the tools to report a user's mistake: one line, no traceback.

Code that checks what a user gave (a file, a folder, an option, a frame)
raises :class:`UserError` (or a subclass, e.g.
:class:`~mmvis_clip.structures.vis_format.VISFormatError`) with a message that
names the file, video, field or key at fault. A tool's entry point turns
it, and the ``OSError`` of a missing or unreadable path, into one
``error: ...`` line on stderr::

    def main(argv=None):
        with exit_on_user_error():
            ...

An ``OSError`` of a write (a full disk, a quota, a file size limit) names
no file by itself (``[Errno 28] No space left on device``): the writers
(:mod:`mmvis_clip.utils.atomic_io`, the video writers, the results stream)
write inside :func:`os_errors_name`, which gives it the file written.
"""
import os
from contextlib import contextmanager
from typing import Iterator, Optional, Union


class UserError(ValueError):
    """A mistake in what the user gave; the message names the file,
    video, field or key at fault and what is wrong."""


#: Exceptions that :func:`exit_on_user_error` reports as one line.
USER_ERRORS = (UserError, OSError)


@contextmanager
def os_errors_name(path: Union[str, os.PathLike],
                   temporary: Optional[str] = None) -> Iterator[None]:
    """Within: an ``OSError`` that names no file (or names ``temporary``,
    the hidden file written in place of ``path``) is raised again, of the
    same class and ``errno``, naming ``path``: ``[Errno 28] No space left
    on device: 'out/results.json'``. One that names another file (e.g. an
    input read by the writer) is left as it is.

    Args:
        path (str | PathLike): The file the user asked for.
        temporary (str, optional): Its temporary, if one is written.
    """
    try:
        yield
    except OSError as err:
        named = err.filename
        if err.errno is None or (named is not None and named != temporary):
            raise
        raise OSError(err.errno, err.strerror or os.strerror(err.errno),
                      os.fspath(path)) from err


def one_line(err: BaseException) -> str:
    """``err``'s message on one line (newlines of wrapped library messages
    become ``' | '``)."""
    text = str(err).strip() or type(err).__name__
    return ' | '.join(line.strip() for line in text.splitlines()
                      if line.strip())


@contextmanager
def exit_on_user_error(prefix: str = 'error') -> Iterator[None]:
    """Turn a :data:`USER_ERRORS` exception into ``SystemExit`` with the
    one-line message ``'{prefix}: {message}'`` (printed to stderr, exit
    status 1); any other exception (a bug) keeps its traceback.

    Args:
        prefix (str): Start of the line. Defaults to ``'error'``.
    """
    try:
        yield
    except USER_ERRORS as err:
        raise SystemExit(f'{prefix}: {one_line(err)}') from None
