# CiCo-Yolact on the synthetic dataset, initialised as the paper initialises
# it (2D -> 3D from an image-level model): from the synthetic frame-level
# (FiFo) model, the stand-in for COCO pre-training here. Train that first:
#   python tools/train.py \
#       configs/cico/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py
#   python tools/train.py \
#       configs/cico/cico-yolact_r18_fpn_1xb4-4e_synthetic.py
# Its 2D box and tracking tower convs are inflated to 3D when loaded (see
# configs/cico/README.md). Its frame-in frame-out baseline with the same
# initialisation and budget: cico-yolact_r18_fpn_fifo_1xb4-4e_synthetic.py.
# The model is cico-yolact_r18_fpn_1xb4-8e_synthetic.py (trained there from
# scratch); the schedule is 4 epochs of the synthetic one, lr x0.1 after 3.
_base_ = './cico-yolact_r18_fpn_1xb4-8e_synthetic.py'

load_from = 'work_dirs/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic/epoch_8.pth'  # noqa: E501
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs + 1)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs, milestones=[3])
]
