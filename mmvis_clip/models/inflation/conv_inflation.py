"""Inflate 2D conv weights into 3D (time) conv weights (CiCo's 2D->3D init).
"""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor

INFLATION_MODES = ('mean', 'centre')
DEFAULT_CENTRE_WEIGHTS = {1: (1.0, ), 3: (0.125, 0.75, 0.125)}


def time_tap_weights(time_kernel: int,
                     mode: str = 'mean',
                     centre_weights: Optional[Sequence[float]] = None,
                     dtype: torch.dtype = torch.float32,
                     device=None) -> Tensor:
    """Weights of the time taps of an inflated kernel; they sum to 1.

    Args:
        time_kernel (int): Number of time taps ``kt`` (>= 1).
        mode (str): ``'mean'``: ``1 / kt`` each (CiCo paper, Sec. 4 "the
            2D weights repeated along t and divided by t"). ``'centre'``:
            ``centre_weights``; by default ``(0.125, 0.75, 0.125)`` for
            ``kt = 3`` (the public CiCo code's prototype net), ``(1, )``
            for ``kt = 1`` and, for another odd ``kt``, all the mass on the
            centre tap (the paper gives no value; a one-hot centre keeps
            the 2D response of each frame untouched). An even ``kt`` has no
            centre tap and needs explicit ``centre_weights``.
        centre_weights (Sequence[float], optional): ``kt`` weights summing
            to 1, for ``mode='centre'`` only.
        dtype (torch.dtype): Dtype of the result.
        device: Device of the result.

    Returns:
        Tensor: Of shape (kt, ).
    """
    if not isinstance(time_kernel, int) or time_kernel < 1:
        raise ValueError(
            f'time_kernel must be an int >= 1, got {time_kernel!r}.')
    if mode not in INFLATION_MODES:
        raise ValueError(f'Unknown inflation mode {mode!r}; expected one of '
                         f'{INFLATION_MODES}.')
    if mode == 'mean':
        if centre_weights is not None:
            raise ValueError("centre_weights are only used with mode="
                             "'centre'; got them with mode='mean'.")
        return torch.full((time_kernel, ),
                          1.0 / time_kernel,
                          dtype=dtype,
                          device=device)
    if centre_weights is None:
        if time_kernel in DEFAULT_CENTRE_WEIGHTS:
            centre_weights = DEFAULT_CENTRE_WEIGHTS[time_kernel]
        elif time_kernel % 2 == 1:
            centre_weights = [0.0] * time_kernel
            centre_weights[time_kernel // 2] = 1.0
        else:
            raise ValueError(
                f'A time kernel of {time_kernel} taps has no centre tap: '
                "give centre_weights for mode='centre'.")
    centre_weights = [float(w) for w in centre_weights]
    if len(centre_weights) != time_kernel:
        raise ValueError(f'centre_weights has {len(centre_weights)} values '
                         f'for a time kernel of {time_kernel} taps.')
    if not math.isclose(sum(centre_weights), 1.0, abs_tol=1e-6):
        raise ValueError(
            f'centre_weights must sum to 1 (so that a clip of identical '
            f'frames gives the 2D output), got {centre_weights} (sum '
            f'{sum(centre_weights)}).')
    return torch.tensor(centre_weights, dtype=dtype, device=device)


def inflate_conv_weight(
        weight: Tensor,
        time_kernel: int,
        mode: str = 'mean',
        centre_weights: Optional[Sequence[float]] = None) -> Tensor:
    """Inflate a 2D conv kernel along time.

    ``w3d[:, :, t] = a_t * w2d`` with tap weights ``a_t`` summing to 1 (see
    :func:`time_tap_weights`), so that on a clip of identical frames (time
    padded by edge repeat, as in
    :class:`~mmvis_clip.models.layers.ReplicateTimeConv3d`) the 3D conv
    gives the 2D conv's output at every frame. The bias is not inflated (it
    keeps its shape).

    Args:
        weight (Tensor): 2D kernel of shape (O, I, kh, kw) for a conv, or
            (I, O, kh, kw) for a transposed conv (the time axis is inserted
            at dim 2 either way).
        time_kernel (int): Time taps ``kt``; 1 just adds the time axis.
        mode (str): ``'mean'`` or ``'centre'``; see :func:`time_tap_weights`.
        centre_weights (Sequence[float], optional): Per-tap weights for
            ``mode='centre'``.

    Returns:
        Tensor: Of shape (O, I, kt, kh, kw) (or (I, O, kt, kh, kw)), same
        dtype and device as ``weight``.
    """
    if weight.dim() != 4:
        raise ValueError('inflate_conv_weight needs a 2D kernel of shape '
                         f'(O, I, kh, kw), got {tuple(weight.shape)}.')
    taps = time_tap_weights(
        time_kernel,
        mode,
        centre_weights,
        dtype=weight.dtype,
        device=weight.device)
    return weight.unsqueeze(2) * taps.view(1, 1, -1, 1, 1)


def inflate_state_dict(state_dict: Dict[str, Tensor],
                       target_state_dict: Dict[str, Tensor],
                       centre_weighted_prefixes: Sequence[str] = (),
                       logger=None) -> Tuple[Dict[str, Tensor], List[str]]:
    """Inflate the 2D conv kernels of a state dict to fit a 3D model.

    A key is inflated when it is in both dicts, its source is 4D
    (O, I, kh, kw) and its target is 5D (O, I, kt, kh, kw) with the same
    O, I, kh, kw: with ``mode='centre'`` (default tap weights of
    :func:`time_tap_weights`) when the key starts with one of
    ``centre_weighted_prefixes``, else ``mode='mean'``. Every other entry
    is passed on unchanged (same tensor object): other shape mismatches are
    left for ``load_state_dict`` to report, and keys are not renamed.

    Args:
        state_dict (dict[str, Tensor]): Source (2D) weights.
        target_state_dict (dict[str, Tensor]): The state dict of the model
            to load into (only shapes are read).
        centre_weighted_prefixes (Sequence[str]): Key prefixes inflated
            with centre tap weights (CiCo's public code: the prototype
            net).
        logger (logging.Logger | str, optional): Where to log how many
            kernels were inflated (``print_log``'s ``logger``); None logs
            nothing.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The new state dict (an
        ``OrderedDict`` in the source's key order, keeping its
        ``_metadata``) and the inflated keys, in that order.
    """
    if isinstance(centre_weighted_prefixes, str):
        raise TypeError('centre_weighted_prefixes must be a sequence of '
                        f'strings, got the string {centre_weighted_prefixes!r}'
                        '.')
    prefixes = tuple(centre_weighted_prefixes)
    new_state_dict = OrderedDict()
    inflated = []
    for key, value in state_dict.items():
        target = target_state_dict.get(key)
        if (target is not None and isinstance(value, Tensor)
                and value.dim() == 4 and target.dim() == 5
                and target.shape[:2] == value.shape[:2]
                and target.shape[3:] == value.shape[2:]):
            mode = 'centre' if key.startswith(prefixes) else 'mean'
            try:
                value = inflate_conv_weight(value, target.shape[2], mode)
            except ValueError as err:
                raise ValueError(f'Cannot inflate {key!r}: {err}') from err
            inflated.append(key)
        new_state_dict[key] = value
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        new_state_dict._metadata = metadata
    if logger is not None:
        num_centre = sum(key.startswith(prefixes) for key in inflated)
        print_log(
            f'Inflated {len(inflated)} 2D conv kernels to 3D '
            f'({num_centre} with centre tap weights).',
            logger=logger)
    return new_state_dict, inflated


def expand_box_frames(value: Tensor, num_anchors: int,
                      num_frames: int) -> Tensor:
    """Expand a 2D box layer (4 deltas per anchor) to 4T (a box per frame).

    A 2D (T = 1) detector's box layer has ``A * 4`` output channels, channel
    ``a * 4 + c``; CiCo's predicts the 4 deltas of every frame of the clip,
    ``A * T * 4`` channels, channel ``(a * T + t) * 4 + c`` (anchor, then
    frame, then coordinate; :class:`CiCoHead`). Each anchor's 4 channels
    are repeated for the T frames, so that on a clip of identical frames
    every frame's box is the 2D box.

    Args:
        value (Tensor): The 2D layer's weight (A * 4, C, kh, kw) or bias
            (A * 4, ).
        num_anchors (int): Anchors per location A.
        num_frames (int): Clip length T.

    Returns:
        Tensor: (A * T * 4, ...) of the same dtype and device.
    """
    assert value.size(0) == num_anchors * 4, (value.shape, num_anchors)
    rest = value.shape[1:]
    per_anchor = value.reshape(num_anchors, 1, 4, *rest)
    return per_anchor.expand(num_anchors, num_frames, 4, *rest).reshape(
        num_anchors * num_frames * 4, *rest).clone()


def repeat_over_anchors(value: Tensor, num_anchors: int) -> Tensor:
    """Repeat an anchor-free prediction layer for every anchor.

    An anchor-free detector (FCOS / CondInst: one prediction per location)
    has ``O`` output channels; an anchor-based head's layer has ``A * O``,
    channel ``a * O + o`` (mmdet's ``AnchorHead`` layout). Every anchor
    gets the anchor-free layer, so all A anchors of a location predict what
    the location predicted.

    Args:
        value (Tensor): Weight (O, C, kh, kw) or bias (O, ).
        num_anchors (int): Anchors per location A.

    Returns:
        Tensor: (A * O, ...) of the same dtype and device.
    """
    return value.repeat(num_anchors, *([1] * (value.dim() - 1)))
