"""Old import paths kept for one release, each with a ``FutureWarning``."""
import importlib
import sys
import warnings
from typing import Callable, Dict


def _warn(old: str, new: str, stacklevel: int) -> None:
    warnings.warn(
        f'{old} is deprecated and will be removed in the next release: '
        f'import {new}', FutureWarning, stacklevel=stacklevel + 1)


def alias_module(old: str, new: str) -> None:
    """Make the module being imported as ``old`` the module ``new``.

    Called from the old module's file: ``import old`` then gives the very
    module object ``new`` (same classes, same state), after a warning.
    """
    _warn(old, new, 3)  # the old module's body
    sys.modules[old] = importlib.import_module(new)


def moved_names(package: str, names: Dict[str, str]) -> Callable:
    """A module ``__getattr__`` serving names moved elsewhere.

    Args:
        package (str): The module that held the names (``__name__``).
        names (dict[str, str]): Each old name -> the module that now holds
            it.

    Returns:
        callable: ``__getattr__(name)``: the moved object, after a warning.
    """

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(
                f'module {package!r} has no attribute {name!r}')
        # the line reading the name
        _warn(f'{package}.{name}', f'{name} from {names[name]}', 2)
        return getattr(importlib.import_module(names[name]), name)

    return __getattr__
