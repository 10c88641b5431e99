"""A user's mistake reported as one ``error: ...`` line, no traceback::

    def main(argv=None):
        with exit_on_user_error():
            ...
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
    """Within: an ``OSError`` that names no file (or ``temporary``) is
    raised again, same ``errno``, naming ``path``.

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
    """Turn a :data:`USER_ERRORS` exception into ``SystemExit('{prefix}:
    {message}')`` (stderr, exit status 1); others keep their traceback.

    Args:
        prefix (str): Start of the line. Defaults to ``'error'``.
    """
    try:
        yield
    except USER_ERRORS as err:
        raise SystemExit(f'{prefix}: {one_line(err)}') from None
