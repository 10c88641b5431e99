"""CiCo tracking loss (Eq. 9) against a direct double loop."""
import math

import pytest
import torch

from mmvis_clip.models.losses.cosine_track_loss import CosineTrackLoss


def eq9_loop(embeds, ids, eps):
    """Eq. 9 over all ordered pairs with math.log and explicit sums."""
    e = embeds.double().tolist()
    n = len(e)
    total = 0.0
    for i in range(n):
        for j in range(n):
            dot = sum(a * b for a, b in zip(e[i], e[j]))
            norm_i = math.sqrt(sum(a * a for a in e[i]))
            norm_j = math.sqrt(sum(b * b for b in e[j]))
            d = 0.5 * (dot / (norm_i * norm_j) + 1)
            d = min(max(d, eps), 1 - eps)
            if int(ids[i]) == int(ids[j]):
                total -= math.log(d)
            else:
                total -= math.log(1 - d)
    return total / (n * n)


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_matches_loop(seed):
    gen = torch.Generator().manual_seed(seed)
    n = 3 + seed * 2
    embeds = torch.randn(n, 6, generator=gen, dtype=torch.float64)
    ids = torch.randint(0, 3, (n, ), generator=gen)
    assert len(set(ids.tolist())) < n  # repeated ids present
    loss = CosineTrackLoss()(embeds, ids)
    assert loss.item() == pytest.approx(eq9_loop(embeds, ids, 1e-4),
                                        rel=1e-10)


def test_hand_cases():
    eps = 1e-4
    e = torch.tensor([[1., 0.], [2., 0.]],
                     dtype=torch.float64,
                     requires_grad=True)
    # identical directions, same id: every d = 1 -> clamped to 1 - eps
    loss = CosineTrackLoss(eps=eps)(e, torch.tensor([7, 7]))
    assert loss.item() == pytest.approx(-math.log(1 - eps), rel=1e-6)
    loss.backward()
    assert torch.isfinite(e.grad).all()
    same = torch.ones(3, 4, requires_grad=True)  # float32, exactly equal
    CosineTrackLoss()(same, torch.tensor([0, 1, 0])).backward()
    assert torch.isfinite(same.grad).all()
    # opposite directions, different ids: off-diagonal d = 0 -> eps gives
    # -log(1 - eps), as does the (same-id) diagonal d = 1 -> 1 - eps
    opp = torch.tensor([[1., 0.], [-3., 0.]], dtype=torch.float64)
    loss = CosineTrackLoss(eps=eps)(opp, torch.tensor([0, 1]))
    assert loss.item() == pytest.approx(-math.log(1 - eps), rel=1e-6)
    # opposite directions, same id: off-diagonal -log(eps)
    loss = CosineTrackLoss(eps=eps)(opp, torch.tensor([0, 0]))
    expected = (2 * -math.log(1 - eps) + 2 * -math.log(eps)) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # orthogonal, different ids: off-diagonal d = 0.5 -> log 2
    orth = torch.tensor([[1., 0.], [0., 1.]], dtype=torch.float64)
    loss = CosineTrackLoss(eps=eps)(orth, torch.tensor([0, 1]))
    expected = (2 * -math.log(1 - eps) + 2 * math.log(2)) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_loss_weight_and_empty():
    gen = torch.Generator().manual_seed(5)
    embeds = torch.randn(5, 4, generator=gen)
    ids = torch.tensor([0, 0, 1, 2, 1])
    base = CosineTrackLoss()(embeds, ids)
    assert CosineTrackLoss(loss_weight=5.0)(embeds, ids).item() == \
        pytest.approx(5 * base.item(), rel=1e-6)
    empty = torch.zeros(0, 4, requires_grad=True)
    loss = CosineTrackLoss()(empty, torch.zeros(0, dtype=torch.long))
    assert loss.item() == 0 and loss.requires_grad
    loss.backward()
    with pytest.raises(ValueError, match='ids'):
        CosineTrackLoss()(embeds, ids[:3])


def test_gradient_pulls_same_id_together():
    e = torch.tensor([[1., 0.], [0., 1.]], requires_grad=True)
    loss = CosineTrackLoss()(e, torch.tensor([3, 3]))
    loss.backward()
    stepped = e.detach() - 0.1 * e.grad
    cos_before = 0.0
    cos_after = torch.cosine_similarity(stepped[0], stepped[1], dim=0)
    assert cos_after.item() > cos_before


@pytest.mark.parametrize('mode', ['bf16_autocast', 'fp16_tensors'])
def test_half_precision_gives_finite_gradients(mode):
    # identical embeddings of one id: every d = 1 (the clamp bound 1 - eps
    # rounds to 1 in half precision) and the other ids' pairs use
    # log(1 - d): the unused branch must not make NaN gradients
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(2, 8, generator=gen)
    embeds = torch.cat([base[:1].repeat(3, 1), base[1:]])
    ids = torch.tensor([0, 0, 0, 1])
    expected = CosineTrackLoss()(embeds.double(), ids)
    if mode == 'fp16_tensors':
        leaf = embeds.half().requires_grad_()
        loss = CosineTrackLoss()(leaf, ids)
    else:
        leaf = embeds.clone().requires_grad_()
        linear = torch.nn.Linear(8, 8).double()
        torch.nn.init.eye_(linear.weight)
        torch.nn.init.zeros_(linear.bias)
        linear = linear.float()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            feats = linear(leaf)  # bf16 under autocast
            assert feats.dtype == torch.bfloat16
            loss = CosineTrackLoss()(feats, ids)
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(leaf.grad).all()
    # half-precision inputs, float32 loss: close to the float64 value
    assert loss.item() == pytest.approx(expected.item(), rel=2e-2)
