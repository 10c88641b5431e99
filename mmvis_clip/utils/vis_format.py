"""The error raised for files that break the YouTube-VIS format."""
import json
import os
from typing import Union

from .user_errors import UserError


class VISFormatError(UserError):
    """A raw VIS json, ground truth or results file that breaks the
    YouTube-VIS / OVIS format. The message names the file, video and field.
    """


def load_json(path: Union[str, os.PathLike]):
    """Read a json file; malformed content raises naming the file."""
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise VISFormatError(f'{path}: malformed JSON ({err})') from None
