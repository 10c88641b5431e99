"""What ``--amp`` does to a model's training step, checked on CPU."""
import torch


def bf16_step_bad_parameters(model, data):
    """Losses of ``data`` under CPU bfloat16 autocast, then backward.

    Returns:
        list[str]: Names of the parameters whose gradient is not finite
        (asserts the losses themselves are finite first).
    """
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(**data)
    assert all(torch.isfinite(v) for v in losses.values()), losses
    sum(losses.values()).backward()
    return [
        name for name, p in model.named_parameters()
        if p.grad is not None and not torch.isfinite(p.grad).all()
    ]
