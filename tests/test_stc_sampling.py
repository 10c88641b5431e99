"""Embedding grid helpers and contrastive pair sampling on hand-made data."""
import pytest
import torch

# yapf: disable
from mmvis_clip.models.task_modules import (ContrastivePairSampler,
                                            assignment_to_grid,
                                            grid_cells_in_boxes,
                                            grid_cells_in_image,
                                            points_to_grid_cells,
                                            sample_embeddings_at_points)

# yapf: enable


def test_points_to_grid_cells():
    # map 3x4 at stride 8; a P4 point (24, 8) lies in cell (1, 3)
    points = torch.tensor([[4., 4.], [24., 8.], [31.9, 23.9], [100., -5.]])
    cells = points_to_grid_cells(points, 8, (3, 4))
    assert cells.tolist() == [0, 1 * 4 + 3, 2 * 4 + 3, 0 * 4 + 3]


def test_assignment_and_boxes_and_image():
    points = torch.tensor([[4., 4.], [12., 4.], [24., 8.]])
    gt_inds = torch.tensor([1, 1, 0])
    assign = assignment_to_grid(points, gt_inds, 2, 8, (2, 4))
    assert assign.nonzero().tolist() == [[0, 7], [1, 0], [1, 1]]
    boxes = torch.tensor([[0., 0., 12., 4.], [10., 0., 30., 16.]])
    in_box = grid_cells_in_boxes(boxes, 8, (2, 4))
    # centres x 4, 12, 20, 28; y 4, 12
    assert in_box[0].nonzero()[:, 0].tolist() == [0, 1]
    assert in_box[1].nonzero()[:, 0].tolist() == [1, 2, 3, 5, 6, 7]
    valid = grid_cells_in_image((13, 21), 8, (2, 4))
    assert valid.nonzero()[:, 0].tolist() == [0, 1, 2, 4, 5, 6]
    with pytest.raises(ValueError, match='assigned gt indices'):
        assignment_to_grid(points, torch.tensor([0, 2, 0]), 2, 8, (2, 4))


def test_bilinear_sampling():
    emb = torch.arange(12.).reshape(1, 3, 4)  # value = flat cell index
    points = torch.tensor([[12., 12.], [16., 12.], [16., 16.], [0., 0.]])
    out = sample_embeddings_at_points(emb, points, 8)[:, 0]
    # on centre of cell 5; halfway 5-6; middle of 5, 6, 9, 10; clamped 0
    assert out.tolist() == pytest.approx([5., 5.5, 7.5, 0.])


def hand_scene():
    """Reference map 2x4 (8 cells), image covers cells 0-2 and 4-6.

    Instance 3: assigned cells 1, 2; box covers cells 0, 1, 2, 4, 5, 6
    (cell 4 is assigned to instance 8, so it stays a negative of 3).
    Instance 8: assigned cell 4; box covers cell 4.
    Queries: ids [3, 8, 11 (absent)].
    """
    key_ids = torch.tensor([3, 8])
    assign = torch.zeros(2, 8, dtype=torch.bool)
    assign[0, [1, 2]] = True
    assign[1, 4] = True
    in_box = torch.zeros(2, 8, dtype=torch.bool)
    in_box[0, [0, 1, 2, 4, 5, 6]] = True
    in_box[1, 4] = True
    valid = torch.tensor([1, 1, 1, 0, 1, 1, 1, 0], dtype=torch.bool)
    return torch.tensor([3, 8, 11]), key_ids, assign, in_box, valid


def test_positives_are_the_same_instance():
    query_ids, key_ids, assign, in_box, valid = hand_scene()
    sampler = ContrastivePairSampler(num_negatives=-1)
    pos, neg = sampler.sample(query_ids, key_ids, assign, in_box, valid)
    assert pos[0].nonzero()[:, 0].tolist() == [1, 2]
    assert pos[1].nonzero()[:, 0].tolist() == [4]
    assert not pos[2].any()
    # all candidates: instance 3 -> only cell 4 (instance 8) is left
    assert neg[0].nonzero()[:, 0].tolist() == [4]
    # instance 8 -> every valid cell but its own
    assert neg[1].nonzero()[:, 0].tolist() == [0, 1, 2, 5, 6]


@pytest.mark.parametrize('num_negatives', [0, 2, 3, 10])
def test_negatives_never_same_instance_and_count(num_negatives):
    query_ids, key_ids, assign, in_box, valid = hand_scene()
    sampler = ContrastivePairSampler(num_negatives=num_negatives)
    allowed = {1: {0, 1, 2, 5, 6}, 0: {4}}
    seen = {0: set(), 1: set()}
    torch.manual_seed(0)
    for _ in range(30):
        pos, neg = sampler.sample(query_ids, key_ids, assign, in_box, valid)
        assert not (pos & neg).any()
        for row in (0, 1):
            chosen = set(neg[row].nonzero()[:, 0].tolist())
            assert chosen <= allowed[row]
            assert len(chosen) == min(num_negatives, len(allowed[row]))
            seen[row] |= chosen
    if num_negatives > 0:  # random draws reach every candidate
        assert seen[1] == allowed[1] and seen[0] == allowed[0]


def test_negatives_inside_boxes_only():
    query_ids, key_ids, assign, in_box, valid = hand_scene()
    in_box[0] = False
    in_box[0, [1, 2]] = True  # instance 3's box now covers its cells only
    sampler = ContrastivePairSampler(num_negatives=-1, neg_in_box=True)
    _, neg = sampler.sample(query_ids, key_ids, assign, in_box, valid)
    assert neg[0].nonzero()[:, 0].tolist() == [4]
    assert neg[1].nonzero()[:, 0].tolist() == [1, 2]
    whole = ContrastivePairSampler(num_negatives=-1)
    _, neg = whole.sample(query_ids, key_ids, assign, in_box, valid)
    assert neg[0].nonzero()[:, 0].tolist() == [0, 4, 5, 6]


def test_negatives_leave_the_global_random_stream_alone():
    """Drawing negatives must not move torch's global generator (so an
    ablation without the contrastive loss makes the same other draws), and
    the draws repeat under the same run seed."""
    query_ids, key_ids, assign, in_box, valid = hand_scene()

    def draws(seed):
        torch.manual_seed(seed)
        sampler = ContrastivePairSampler(num_negatives=2)
        state = torch.get_rng_state()
        negs = [
            sampler.sample(query_ids, key_ids, assign, in_box, valid)[1]
            for _ in range(10)
        ]
        assert torch.equal(torch.get_rng_state(), state)
        return torch.stack(negs)

    first = draws(0)
    assert torch.equal(first, draws(0))
    assert any(not torch.equal(first, draws(seed)) for seed in (1, 2, 3))


def test_embeddings_at_points_equal_grid_sample_and_are_deterministic():
    """The four-gather bilinear read equals grid_sample (bilinear, border,
    align_corners=False) everywhere, borders included, values and
    gradients; it needs no grid_sample (no deterministic CUDA backward)."""
    import torch.nn.functional as F

    from mmvis_clip.models.task_modules.embedding_sampling import \
        sample_embeddings_at_points
    gen = torch.Generator().manual_seed(0)
    embed_map = torch.randn(5, 6, 7, generator=gen, requires_grad=True)
    stride = 8.
    points = torch.cat([
        torch.rand(40, 2, generator=gen) * torch.tensor([7 * 8., 6 * 8.]),
        torch.tensor([[0., 0.], [56., 48.], [-5., 20.], [60., -3.],
                      [4., 4.], [52., 44.]])
    ])
    got = sample_embeddings_at_points(embed_map, points, stride)
    grid = torch.stack([
        2 * points[:, 0] / (7 * stride) - 1, 2 * points[:, 1] /
        (6 * stride) - 1
    ], 1)
    expected = F.grid_sample(
        embed_map[None], grid[None, None], mode='bilinear',
        padding_mode='border', align_corners=False)[0, :, 0].t()
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    g1, = torch.autograd.grad(got.square().sum(), embed_map)
    g2, = torch.autograd.grad(expected.square().sum(), embed_map)
    torch.testing.assert_close(g1, g2, rtol=0, atol=1e-5)
    torch.use_deterministic_algorithms(True)
    try:
        got = sample_embeddings_at_points(embed_map, points, stride)
        got.sum().backward()
    finally:
        torch.use_deterministic_algorithms(False)
