# YouTube-VIS 2019. Layout (official files, then converted with
#   python tools/dataset_converters/vis2cocovid.py \
#       --data-root data/youtube_vis_2019 --version 2019):
# data/youtube_vis_2019/{train,valid,test}/JPEGImages/<video>/<frame>.jpg
# data/youtube_vis_2019/{train,valid,test}.json            (official)
# data/youtube_vis_2019/annotations/youtube_vis_2019_{split}.json (CocoVID)
dataset_type = 'YouTubeVISDataset'
data_root = 'data/youtube_vis_2019/'
dataset_version = '2019'

backend_args = None

# Per-frame training transforms, the same random parameters for every frame
# of a sample (clip models reuse them with their own frame sampling).
train_frame_transforms = dict(
    type='TransformBroadcaster',
    share_random_params=True,
    transforms=[
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='LoadTrackAnnotations', with_mask=True),
        dict(type='Resize', scale=(640, 360), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
    ])
# The clip models' (CiCo's) version: the public CiCo code's augmentation
# (the paper gives none), a random zoom x0.5-1.5 of the 640x360 scale,
# cropped back to at most 640x360, and a flip, the same on every frame of a
# clip. Used by the *_clip.py dataset configs.
clip_train_frame_transforms = dict(
    type='TransformBroadcaster',
    share_random_params=True,
    transforms=[
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='LoadTrackAnnotations', with_mask=True),
        dict(
            type='RandomResize',
            scale=(640, 360),
            ratio_range=(0.5, 1.5),
            keep_ratio=True),
        dict(
            type='RandomCrop',
            crop_size=(360, 640),
            recompute_bbox=True,
            allow_negative_crop=True),
        dict(type='RandomFlip', prob=0.5),
    ])
# Key frame + one reference frame from its temporal neighbourhood (STC);
# the papers do not state the range, 10 frames either side is used here.
# Clip-based methods replace this first step (e.g. ContiguousClipSample).
train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=10,
        filter_key_img=True),
    train_frame_transforms,
    dict(type='PackTrackInputs')
]
# Annotations are loaded after Resize so that the ground truth (when there
# is any) keeps the original resolution the metric works at.
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='Resize', scale=(640, 360), keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]

# Training samples single frames (plus their reference frames) of all
# videos; testing yields whole videos in order (test_mode=True), which the
# VIS metric needs. Every frame is decoded with its masks at full size
# (e.g. 1280x720) before the resize: 4 workers per GPU (mmdet's VIS
# configs: 2), kept between epochs, batches in pinned memory for the copy
# to the GPU (torch ignores pin_memory without one).
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='TrackImgSampler'),
    batch_sampler=dict(type='TrackAspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2019_train.json',
        data_prefix=dict(img_path='train/JPEGImages'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2019_valid.json',
        data_prefix=dict(img_path='valid/JPEGImages'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The valid ground truth is not public: write results.json (and the zip for
# the evaluation server) instead of computing AP.
val_evaluator = dict(
    type='VISMetric',
    format_only=True,
    outfile_prefix='./work_dirs/youtube_vis_2019_results')
test_evaluator = val_evaluator
