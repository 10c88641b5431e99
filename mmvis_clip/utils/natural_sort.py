"""Natural sort order of file names (``2.jpg`` before ``10.jpg``)."""
import re
from typing import Tuple


def natural_sort_key(name: str) -> Tuple:
    """Sort key putting ``'2.jpg'`` before ``'10.jpg'``.

    Digit runs compare as numbers, other runs case-insensitively; the name
    itself breaks ties (``'01.jpg'`` vs ``'1.jpg'``).
    """
    parts = re.split(r'(\d+)', name)
    return tuple(
        int(part) if i % 2 else part.lower()
        for i, part in enumerate(parts)), name
