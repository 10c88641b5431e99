"""Load mmengine checkpoints under torch's weights-only ``torch.load``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: its
unpickler only rebuilds tensors, containers and the types listed with
:func:`torch.serialization.add_safe_globals`. mmengine 0.10 calls
``torch.load(filename, map_location=...)`` when loading and resuming, and
the checkpoints its Runner writes hold, besides tensors, the message hub's
:class:`~mmengine.logging.HistoryBuffer` objects and the NumPy arrays and
scalars inside them. Loading such a checkpoint therefore fails with
``UnpicklingError: Weights only load failed``.

Turning weights-only loading off would let any checkpoint run arbitrary
code. Instead, :func:`register_checkpoint_safe_globals` allow-lists exactly
the plain-data types mmengine checkpoints hold. Each of them is rebuilt from
its state without calling user code, so a pickle that tries to call, say,
``os.system`` is still refused.

One entry needs care: a pickled ``HistoryBuffer`` stores its statistics
methods as ``getattr(HistoryBuffer, 'mean')`` and so on. Allow-listing the
builtin ``getattr`` would hand a malicious pickle a way to reach arbitrary
attributes, so ``builtins.getattr`` is served by
:func:`history_buffer_getattr`, which only resolves those methods.
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

_registered = False


def _numpy_reconstruct_globals() -> List[Union[Any, Tuple[Any, str]]]:
    """NumPy array/scalar rebuild functions under both module paths.

    NumPy 2 pickles ``numpy._core.multiarray._reconstruct``; checkpoints
    written under NumPy 1.x name ``numpy.core.multiarray._reconstruct``.
    """
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
    """``getattr`` restricted to a ``HistoryBuffer`` class's methods.

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
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load``.

    Idempotent; a no-op on torch builds without ``add_safe_globals``
    (torch < 2.4, where ``weights_only`` is off by default anyway).
    """
    global _registered
    if _registered:
        return
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(checkpoint_safe_globals())
    _registered = True
