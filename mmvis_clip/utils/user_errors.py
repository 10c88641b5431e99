"""One way for the tools to report a user's mistake: one line, no traceback.

Code that checks what a user gave (a file, a folder, an option, a frame)
raises :class:`UserError` (or a subclass, e.g.
:class:`~mmvis_clip.utils.vis_format.VISFormatError`) with a message that
names the file, video, field or key at fault. A tool's entry point turns
it, and the ``OSError`` of a missing or unreadable path, into one
``error: ...`` line on stderr::

    def main(argv=None):
        with exit_on_user_error():
            ...
"""
from contextlib import contextmanager
from typing import Iterator


class UserError(ValueError):
    """A mistake in what the user gave; the message names the file,
    video, field or key at fault and what is wrong."""


#: Exceptions that :func:`exit_on_user_error` reports as one line.
USER_ERRORS = (UserError, OSError)


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
