"""The package's compiled modules (``*.c`` beside the modules that use
them, built by ``pip install -e .``)."""
import importlib
from types import ModuleType


def compiled_module(name: str) -> ModuleType:
    """Import ``mmvis_clip.<name>``, a compiled module.

    Raises:
        ImportError: One line saying how to build it, in a source tree
            nobody installed.
    """
    try:
        return importlib.import_module(f'mmvis_clip.{name}')
    except ImportError as err:
        raise ImportError(
            f'mmvis_clip\'s compiled module is missing ({err}): install the '
            'package (pip install -e . in its folder, or make install) to '
            'build it') from None
