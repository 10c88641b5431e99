# CiCo-CondInst on the synthetic dataset, initialised from the synthetic
# frame-level (FiFo) CiCo-CondInst model; see
# cico-yolact_r18_fpn_1xb4-4e_synthetic.py, whose three departures from the
# published recipe it shares. Train that model first:
#   python tools/train.py \
#       configs/cico/cico-condinst_r18_fpn_fifo_1xb4-8e_synthetic.py
# Its baseline: cico-condinst_r18_fpn_fifo_1xb4-4e_synthetic.py.
_base_ = './cico-condinst_r18_fpn_1xb4-8e_synthetic.py'

load_from = 'work_dirs/cico-condinst_r18_fpn_fifo_1xb4-8e_synthetic/epoch_8.pth'  # noqa: E501
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs + 1)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs, milestones=[3])
]
model = dict(
    bbox_head=dict(per_frame_rows=False),
    mask_head=dict(mask_generator=dict(loss_weight=6.125)),
    train_cfg=dict(match_radius=0))
