# The budget shared by the synthetic configs (STC, CiCo): 8 short epochs of
# SGD from scratch, lr 0.01 (x0.1 after epoch 6, 100 warm-up iterations),
# gradient clipping at 35, batches of 4 samples. A method's synthetic config
# takes this instead of its paper schedule, so that "same budget" holds by
# construction. (The MaskTrack R-CNN synthetic config inherits mmdet's
# config, which has its own schedule, and states the same numbers.)
max_epochs = 8
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=max_epochs + 1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[6],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=4)
