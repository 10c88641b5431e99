# CiCo-Yolact on the synthetic videos mixed with images as pseudo-videos:
# the synthetic train frames read as a COCO instance dataset, each image a
# clip of num_frames (3) mild random affine views with its instance ids
# kept, the key frame at the centre as `ContiguousClipSample` marks it
# (`ImagesAsPseudoVideos`, `MaskRandomAffine`); 3 video clips to 1
# pseudo-video clip in expectation (mmdet's `MultiDataSampler`). The STC
# mix config (configs/stc/stc_r18_fpn_coco-pseudo-video-mix_1xb4-8e_
# synthetic.py) says more.
#   python tools/misc/make_synthetic_vis.py --out data/synthetic_vis
#   python tools/train.py \
#       configs/cico/cico-yolact_r18_fpn_coco-pseudo-video-mix_1xb4-8e_synthetic.py
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
    num_frames=_base_.num_frames,
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
        # mmengine's: it refuses datasets whose classes differ (mmdet's
        # keeps a list of their meta information instead)
        type='mmengine.ConcatDataset',
        # CocoDataset's palette is no meta information of the videos
        ignore_keys=['palette'],
        datasets=[_base_.train_dataloader.dataset, pseudo_videos]))
