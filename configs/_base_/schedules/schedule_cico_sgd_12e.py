# CiCo's schedule (paper Sec. 4): 12 epochs, lr 1e-3, x0.1 after epochs 8
# and 10, 24 clips per batch (4 GPUs x 6). Where the paper is silent, the
# public code's: momentum 0.9, weight decay 1e-4, no gradient clipping,
# 500 iterations of linear warm-up from lr 1e-4.
max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=13)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0001),
    clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=False,
        begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 10],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=24)
