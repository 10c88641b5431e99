"""STC losses against direct evaluations of Eq. 3-6."""
import math

import pytest
import torch
from mmengine.structures import InstanceData

from mmvis_clip.models.heads import STCTrackHead
from mmvis_clip.models.losses import (KernelConsistencyLoss,
                                      MultiPosContrastiveLoss)


def eq3_loop(query, key, pos_mask, neg_mask):
    """Eq. 3 summed over positives, Eq. 4 mean, by plain Python loops."""
    q = query.double().tolist()
    k = key.double().tolist()
    total, num = 0.0, 0
    for i in range(len(q)):
        pos = [j for j in range(len(k)) if pos_mask[i, j]]
        neg = [j for j in range(len(k)) if neg_mask[i, j]]
        if not pos:
            continue
        num += 1
        for p in pos:
            s_pos = sum(a * b for a, b in zip(q[i], k[p]))
            inner = 0.0
            for n in neg:
                s_neg = sum(a * b for a, b in zip(q[i], k[n]))
                inner += math.exp(s_neg - s_pos)
            total += math.log(1.0 + inner)
    return total / num if num else 0.0


def random_masks(num_q, num_k, generator):
    """Disjoint random masks; row 0 has no positive, row 1 no negative."""
    draw = torch.randint(0, 3, (num_q, num_k), generator=generator)
    pos, neg = draw == 1, draw == 2
    pos[0] = False
    neg[1] = False
    pos[1, 0] = True
    return pos, neg


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_contrastive_matches_double_loop(seed):
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(6, 5, generator=g)
    key = torch.randn(9, 5, generator=g)
    pos, neg = random_masks(6, 9, g)
    loss = MultiPosContrastiveLoss(loss_weight=0.7)(query, key, pos, neg)
    expected = 0.7 * eq3_loop(query, key, pos, neg)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_query_with_positives_but_no_negatives_contributes_zero():
    query = torch.tensor([[1., 0.], [0., 1.]])
    key = torch.tensor([[1., 0.], [0., 1.], [1., 1.]])
    pos = torch.tensor([[True, False, False], [False, True, False]])
    neg = torch.tensor([[False, False, False], [True, False, True]])
    loss = MultiPosContrastiveLoss()(query, key, pos, neg)
    # query 0: log(1 + 0) = 0; query 1: log(1 + e^(0-1) + e^(1-1))
    expected = (0.0 + math.log(1 + math.exp(-1) + 1)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_stable_at_large_dot_products():
    # q.k = +-100 exactly
    query = torch.tensor([[10., 0.], [0., 10.]], requires_grad=True)
    key = torch.tensor([[10., 0.], [-10., 0.], [0., 10.], [0., -10.]],
                       requires_grad=True)
    pos = torch.tensor([[False, True, False, False],
                        [True, False, True, False]])
    neg = torch.tensor([[True, False, True, True], [False, True, False, True]])
    loss = MultiPosContrastiveLoss()(query, key, pos, neg)
    loss.backward()
    expected = eq3_loop(query.detach(), key.detach(), pos, neg)
    assert math.isfinite(loss.item())
    # query 0: log(1 + e^200 + 2 e^100) ~ 200; query 1: log 2
    assert expected == pytest.approx((200 + math.log(2)) / 2, rel=1e-9)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert torch.isfinite(query.grad).all() and torch.isfinite(key.grad).all()


def test_no_query_with_positives_is_zero_with_graph():
    query = torch.randn(3, 4, requires_grad=True)
    key = torch.randn(5, 4, requires_grad=True)
    pos = torch.zeros(3, 5, dtype=torch.bool)
    neg = torch.ones(3, 5, dtype=torch.bool)
    loss = MultiPosContrastiveLoss()(query, key, pos, neg)
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(query.grad, torch.zeros_like(query))


def test_contrastive_rejects_overlapping_masks():
    pos = torch.tensor([[True, False]])
    with pytest.raises(ValueError, match='both positive and negative'):
        MultiPosContrastiveLoss()(torch.randn(1, 2), torch.randn(2, 2), pos,
                                  pos.clone())


def test_consistency_matches_hand_formula():
    params = torch.tensor([[1., 2.], [3., 4.]])
    ref = torch.tensor([[1., 0.], [0., 0.]])
    # squared distances 4 and 25, mean 14.5, weight 10
    loss = KernelConsistencyLoss(loss_weight=10.0)(params, ref)
    assert loss.item() == pytest.approx(145.0)


def test_consistency_empty_is_zero_with_graph():
    params = torch.zeros(0, 169, requires_grad=True)
    loss = KernelConsistencyLoss(loss_weight=10.0)(params, torch.zeros(0, 169))
    assert loss.item() == 0.0 and loss.requires_grad


# ---------------------------------------------------------------- the head
# One image, embedding map 2x3 at stride 8 (image 16x24, no padding),
# flat cells 0..5 at centres x = 4, 12, 20 and y = 4, 12.
def two_frame_setup():
    g = torch.Generator().manual_seed(5)
    emb = torch.randn(1, 4, 2, 3, generator=g)
    ref_emb = torch.randn(1, 4, 2, 3, generator=g)
    meta = dict(img_shape=(16, 24))
    # frame A: instances 7 (box over cells 0, 3) and 9 (cell 2)
    gts = InstanceData(
        bboxes=torch.tensor([[0., 0., 8., 16.], [16., 0., 24., 8.]]),
        instances_ids=torch.tensor([7, 9]))
    pos = InstanceData(
        points=torch.tensor([[4., 4.], [4., 12.], [20., 4.]]),
        query_points=torch.tensor([[4., 4.], [4., 12.], [20., 4.]]),
        gt_inds=torch.tensor([0, 0, 1]))
    # frame B: instance 9 at cell 4, instance 7 at cell 1, id 5 at cell 5
    ref_gts = InstanceData(
        bboxes=torch.tensor([[8., 8., 16., 16.], [8., 0., 16., 8.],
                             [16., 8., 24., 16.]]),
        instances_ids=torch.tensor([9, 7, 5]))
    ref_pos = InstanceData(
        points=torch.tensor([[12., 12.], [12., 4.], [20., 12.]]),
        query_points=torch.tensor([[12., 12.], [12., 4.], [20., 12.]]),
        gt_inds=torch.tensor([0, 1, 2]))
    return emb, ref_emb, pos, ref_pos, gts, ref_gts, meta


def cells(emb):
    return emb[0].flatten(1).t()  # (6, D), row = flat cell index


def test_bidirectional_head_loss_is_mean_of_both_directions():
    emb, ref_emb, pos, ref_pos, gts, ref_gts, meta = two_frame_setup()
    head = STCTrackHead(
        in_channels=4,
        feat_channels=4,
        embed_dim=4,
        strides=(8, 16, 32),
        bidirectional=True,
        loss_track=dict(type='MultiPosContrastiveLoss', loss_weight=1.0),
        train_cfg=dict(
            sampler=dict(type='ContrastivePairSampler', num_negatives=-1)))
    out = head.loss(emb, ref_emb, [pos], [ref_pos], [gts], [ref_gts], [meta],
                    [meta])['loss_track']

    # A -> B: queries at cells 0, 3 (id 7) and 2 (id 9) of A;
    # id 7 in B: positive cell 1, excluded cells = its box {1};
    # id 9 in B: positive cell 4, excluded {4}.
    a, b = cells(emb), cells(ref_emb)
    q = a[[0, 3, 2]]
    pos_ab = torch.zeros(3, 6, dtype=torch.bool)
    pos_ab[0, 1] = pos_ab[1, 1] = pos_ab[2, 4] = True
    neg_ab = ~pos_ab
    forward = eq3_loop(q, b, pos_ab, neg_ab)
    # B -> A: queries at B cells 4 (id 9), 1 (id 7), 5 (id 5, absent in A)
    # id 9 in A: positive cell 2; its box covers only cell 2.
    # id 7 in A: positives 0 and 3; box covers cells 0, 3.
    q = b[[4, 1, 5]]
    pos_ba = torch.zeros(3, 6, dtype=torch.bool)
    pos_ba[0, 2] = pos_ba[1, 0] = pos_ba[1, 3] = True
    neg_ba = ~pos_ba
    neg_ba[2] = False
    backward = eq3_loop(q, a, pos_ba, neg_ba)
    assert out.item() == pytest.approx(0.5 * (forward + backward), rel=1e-5)

    head.bidirectional = False
    single = head.loss(emb, ref_emb, [pos], [ref_pos], [gts], [ref_gts],
                       [meta], [meta])['loss_track']
    assert single.item() == pytest.approx(forward, rel=1e-5)


def test_matching_baseline_is_masktrack_softmax():
    emb, ref_emb, pos, ref_pos, gts, ref_gts, meta = two_frame_setup()
    head = STCTrackHead(
        in_channels=4,
        feat_channels=4,
        embed_dim=4,
        strides=(8, 16, 32),
        contrastive=False,
        bidirectional=False,
        loss_track=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    out = head.loss(emb, ref_emb, [pos], [ref_pos], [gts], [ref_gts], [meta],
                    [meta])['loss_track']
    a, b = cells(emb), cells(ref_emb)
    # reference instance embeddings at box centres: (12, 12) -> cell 4,
    # (12, 4) -> cell 1, (20, 12) -> cell 5
    keys = b[[4, 1, 5]]
    targets = [2, 2, 1]  # ids 7, 7, 9 -> columns 1 + index in [9, 7, 5]
    total = 0.0
    for cell, target in zip([0, 3, 2], targets):
        logits = [0.0] + (a[cell] @ keys.t()).tolist()
        total += -logits[target] + math.log(sum(math.exp(v) for v in logits))
    assert out.item() == pytest.approx(total / 3, rel=1e-5)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_contrastive_in_float32_under_autocast(dtype):
    """Hard negatives nearly parallel to 256-d queries of norm ~320: the
    dot products (~1e5) overflow float16 (inf - inf = NaN) and lose their
    O(1) differences in bfloat16; the loss stays the float64 one."""
    gen = torch.Generator().manual_seed(3)
    query = torch.randn(2, 256, generator=gen) * 20
    hard = query + 0.01 * torch.randn(2, 256, generator=gen)
    key = torch.cat([query, hard, torch.randn(3, 256, generator=gen)])
    pos = torch.zeros(2, 7, dtype=torch.bool)
    pos[0, 0] = pos[1, 1] = True
    neg = torch.zeros(2, 7, dtype=torch.bool)
    neg[0, 2] = neg[1, 3] = True
    neg[:, 4:] = True
    linear = torch.nn.Linear(256, 256, bias=False)
    torch.nn.init.eye_(linear.weight)
    leaf = query.clone().requires_grad_()
    with torch.autocast('cpu', dtype=dtype):
        q = linear(leaf)
        assert q.dtype == dtype
        loss = MultiPosContrastiveLoss()(q, key, pos, neg)
    # the reference takes the same (rounded) queries, in float64
    expected = eq3_loop(q.detach(), key, pos, neg)
    assert 0.1 < expected < 10
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(leaf.grad).all()
    # float32 rounding of ~1e5 dot products: ~1e-2 absolute
    assert loss.item() == pytest.approx(expected, rel=1e-2)
