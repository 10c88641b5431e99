"""Random subsets of training samples (bounding per-clip loss costs)."""
from typing import Optional

import torch
from torch import Tensor


def random_subset(num: int, max_num: Optional[int], device) -> Tensor:
    """Indices (long) of at most ``max_num`` of ``num`` items:
    ``arange(num)`` when ``max_num`` is None or ``num <= max_num``, else
    ``max_num`` distinct random ones, on ``device``."""
    if max_num is None or num <= max_num:
        return torch.arange(num, device=device)
    return torch.randperm(num, device=device)[:max_num]
