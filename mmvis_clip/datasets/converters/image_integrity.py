"""Whether an image file is whole: the converters' one check of frames
(docs/reliability.md). A JPEG must end with ``FF D9``, a PNG with its
``IEND`` chunk (the last 12 bytes are read); any other file is decoded in
full with Pillow, so one with data after its end is kept.
"""
import os

from PIL import Image

from ...structures.vis_format import VISFormatError

#: The last bytes a whole file of each format ends with.
IMAGE_ENDINGS = {
    'JPEG': b'\xff\xd9',  # EOI marker
    'PNG': b'\x00\x00\x00\x00IEND\xaeB`\x82',  # IEND chunk with its CRC
}


def _ends_with(path: str, ending: bytes) -> bool:
    with open(path, 'rb') as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < len(ending):
            return False
        f.seek(-len(ending), os.SEEK_END)
        return f.read(len(ending)) == ending


def check_image_complete(path: str, image_format: str) -> None:
    """Refuse an image file that is cut short or cannot be decoded.

    Args:
        path (str): The image file.
        image_format (str): Its format as Pillow names it (``'JPEG'``,
            ``'PNG'``, ...), e.g. ``Image.open(path).format``.

    Raises:
        VISFormatError: ``'{path}: the image is truncated or corrupt
            (...)'``, naming the file.
    """
    ending = IMAGE_ENDINGS.get(image_format)
    if ending is not None and _ends_with(path, ending):
        return
    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, SyntaxError, ValueError) as err:
        size = os.path.getsize(path)
        missing = (f'it does not end with the {image_format} end marker and '
                   if ending is not None else '')
        raise VISFormatError(
            f'{path}: the image is truncated or corrupt ({missing}it cannot '
            f'be decoded: {err}; {size} bytes); copy it again or remove the '
            'frame') from None
