# Frame-in frame-out baseline of cico-yolact_r18_fpn_1xb4-4e_synthetic.py:
# the synthetic FiFo CiCo-Yolact model trained 4 more epochs from its own
# checkpoint, so that the clip model and its baseline share the
# initialisation and the budget (8 frame-level epochs, then 4 epochs with
# the same schedule).
_base_ = './cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py'

load_from = 'work_dirs/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic/epoch_8.pth'  # noqa: E501
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs + 1)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs, milestones=[3])
]
