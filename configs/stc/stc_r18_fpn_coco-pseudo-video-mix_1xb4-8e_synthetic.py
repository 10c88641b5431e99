# STC on the synthetic videos mixed with images as pseudo-videos, as
# SeqFormer / IDOL / MinVIS mix COCO images into VIS training. The images
# are the synthetic train frames read as a COCO instance dataset (the
# CocoVID json of the split is one: `images` with file_name / width /
# height, one annotation per frame and instance), each image served as a
# (key, reference) pair of two mild random affine views with its instance
# ids kept (`ImagesAsPseudoVideos`, `MaskRandomAffine`). mmdet's
# `MultiDataSampler` draws 3 video samples to 1 pseudo-video sample in
# expectation, len(videos) + len(images) samples per epoch; a video sample
# is a video (its key frame drawn by the frame sampler), not a frame as
# with `TrackImgSampler`.
#   python tools/misc/make_synthetic_vis.py --out data/synthetic_vis
#   python tools/train.py \
#       configs/stc/stc_r18_fpn_coco-pseudo-video-mix_1xb4-8e_synthetic.py
# For your own image json (COCO format), its category names must be the
# video dataset's classes, in their order (checked when it is built).
_base_ = './stc_r18_fpn_1xb4-8e_synthetic.py'

# mmvis_clip/datasets/synthetic/classes.py, in category id order
classes = ('disc', 'square', 'triangle', 'ring', 'cross', 'star')
# video samples : pseudo-video samples
mix_ratio = [3, 1]

image_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=_base_.img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
]
pseudo_videos = dict(
    type='ImagesAsPseudoVideos',
    num_frames=2,  # key and reference frame
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
