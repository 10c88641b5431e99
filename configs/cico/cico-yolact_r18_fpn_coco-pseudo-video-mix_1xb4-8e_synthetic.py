# CiCo-Yolact on the synthetic videos mixed 3:1 with the synthetic train
# frames as T-frame pseudo-video clips (docs/data.md, "Images as
# pseudo-videos").
_base_ = './cico-yolact_r18_fpn_1xb4-8e_synthetic.py'

# mmvis_clip/datasets/synthetic/classes.py, in category id order
classes = ('disc', 'square', 'triangle', 'ring', 'cross', 'star')
# video clips : pseudo-video clips
mix_ratio = [3, 1]

image_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=_base_.img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
]
pseudo_videos = dict(
    type='ImagesAsPseudoVideos',
    frame_transform=dict(type='MaskRandomAffine'),
    dataset=dict(
        type='CocoDataset',
        data_root=_base_.data_root,
        ann_file='annotations/train_cocovid.json',
        data_prefix=dict(img='train/JPEGImages/'),
        metainfo=dict(classes=classes),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=image_pipeline))
train_dataloader = dict(
    sampler=dict(
        _delete_=True, type='MultiDataSampler', dataset_ratio=mix_ratio),
    dataset=dict(
        _delete_=True,
        # mmengine's refuses datasets whose classes differ
        type='mmengine.ConcatDataset',
        # CocoDataset's palette is not the videos' meta information
        ignore_keys=['palette'],
        datasets=[_base_.train_dataloader.dataset, pseudo_videos]))
