"""Random subsets of training samples (bounding per-clip loss costs)."""
from typing import Optional

import torch
from torch import Tensor


def random_subset(num: int, max_num: Optional[int], device) -> Tensor:
    """Indices of at most ``max_num`` of ``num`` items.

    Args:
        num (int): Number of items.
        max_num (int, optional): Cap; None keeps all.
        device: Device of the result.

    Returns:
        Tensor: ``arange(num)`` when ``num <= max_num``, else ``max_num``
        distinct random indices (long).
    """
    if max_num is None or num <= max_num:
        return torch.arange(num, device=device)
    return torch.randperm(num, device=device)[:max_num]
