"""Load mmengine checkpoints under torch's weights-only ``torch.load``
(the default since torch 2.6) by allow-listing exactly the plain-data types
they hold (``HistoryBuffer``, NumPy arrays and scalars).
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

_registered = False


def _numpy_reconstruct_globals() -> List[Union[Any, Tuple[Any, str]]]:
    """NumPy array/scalar rebuild functions under both module paths
    (``numpy._core`` of NumPy 2, ``numpy.core`` of NumPy 1.x)."""
    from numpy._core import multiarray
    entries: List[Union[Any, Tuple[Any, str]]] = [np.ndarray, np.dtype]
    for name in ('_reconstruct', 'scalar'):
        func = getattr(multiarray, name)
        entries.append(func)
        entries.append((func, f'numpy.core.multiarray.{name}'))
    # Since NumPy 1.25 every dtype has its own class (numpy.dtypes.*DType),
    # which is what a pickled dtype names.
    # Object arrays are left out: mmengine never writes them.
    entries.extend(
        cls for cls in vars(np.dtypes).values()
        if isinstance(cls, type) and issubclass(cls, np.dtype)
        and cls is not np.dtypes.ObjectDType)
    return entries


def history_buffer_getattr(owner: Any, name: str) -> Callable:
    """``getattr`` restricted to a ``HistoryBuffer`` class's methods
    (pickled buffers name them through ``builtins.getattr``, which is not
    allow-listed whole).

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer
    if (isinstance(owner, type) and issubclass(owner, HistoryBuffer)
            and not name.startswith('_')):
        attr = getattr(owner, name, None)
        if callable(attr) and getattr(attr, '__qualname__', '').startswith(
                f'{owner.__name__}.'):
            return attr
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({owner!r}, {name!r}); only '
        'HistoryBuffer statistics methods are allowed')


def checkpoint_safe_globals() -> List[Union[Any, Tuple[Any, str]]]:
    """The types an mmengine Runner checkpoint holds besides tensors."""
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer,
            (history_buffer_getattr, 'builtins.getattr')
            ] + _numpy_reconstruct_globals()


def register_checkpoint_safe_globals() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load``
    (idempotent; a no-op without ``add_safe_globals``, torch < 2.4)."""
    global _registered
    if _registered:
        return
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(checkpoint_safe_globals())
    _registered = True
