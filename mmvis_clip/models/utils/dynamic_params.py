"""The layout of CondInst-style dynamic mask-head parameters (STC's mask
head and CiCo-CondInst's clip mask generator)."""
from typing import List, Tuple

from torch import Tensor


def dynamic_layer_shapes(in_channels: int, channels: int,
                         num_layers: int) -> List[Tuple[int, int]]:
    """``(out, in)`` of each dynamic 1x1 layer: ``in_channels`` to
    ``channels``, ``channels`` to ``channels`` in the middle, the last to 1
    channel (one layer: ``in_channels`` to 1).

    Returns:
        list[tuple[int, int]]: ``num_layers`` shapes; the number of
        parameters is ``sum(o * i + o)``, weights then biases.
    """
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
    """Split (N, P) parameters into per-layer weights and biases (all the
    weights first, then all the biases, as mmdet's CondInst lays them out).

    Returns:
        tuple[list[Tensor], list[Tensor]]: Weights, each (N, out, in), and
        biases, each (N, out), one per layer.
    """
    assert params.dim() == 2 and params.size(1) == num_layer_params(
        shapes), f'params {tuple(params.shape)} for layers {shapes}'
    sizes = [o * i for o, i in shapes] + [o for o, _ in shapes]
    splits = params.split(sizes, dim=1)
    weights = [
        w.reshape(-1, o, i) for w, (o, i) in zip(splits[:len(shapes)], shapes)
    ]
    return weights, list(splits[len(shapes):])
