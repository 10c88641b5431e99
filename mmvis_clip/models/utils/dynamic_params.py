"""The layout of CondInst-style dynamic mask-head parameters."""
from typing import List, Tuple

from torch import Tensor


def dynamic_layer_shapes(in_channels: int, channels: int,
                         num_layers: int) -> List[Tuple[int, int]]:
    """``(out, in)`` of each of ``num_layers`` dynamic 1x1 layers,
    ``in_channels`` -> ``channels`` ... -> 1."""
    assert num_layers >= 1, num_layers
    ins = [in_channels] + [channels] * (num_layers - 1)
    outs = [channels] * (num_layers - 1) + [1]
    return list(zip(outs, ins))


def num_layer_params(shapes: List[Tuple[int, int]]) -> int:
    """Parameters of the layers of :func:`dynamic_layer_shapes`."""
    return sum(o * i + o for o, i in shapes)


def split_dynamic_params(
        params: Tensor,
        shapes: List[Tuple[int, int]]) -> Tuple[List[Tensor], List[Tensor]]:
    """Split (N, P) parameters (all weights, then all biases, as mmdet's
    CondInst) into per-layer weights (N, out, in) and biases (N, out)."""
    assert params.dim() == 2 and params.size(1) == num_layer_params(
        shapes), f'params {tuple(params.shape)} for layers {shapes}'
    sizes = [o * i for o, i in shapes] + [o for o, _ in shapes]
    splits = params.split(sizes, dim=1)
    weights = [
        w.reshape(-1, o, i) for w, (o, i) in zip(splits[:len(shapes)], shapes)
    ]
    return weights, list(splits[len(shapes):])
