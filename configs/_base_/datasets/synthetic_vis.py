# Synthetic VIS (moving textured shapes), made with
#   python tools/misc/make_synthetic_vis.py --out data/synthetic_vis
# data/synthetic_vis/{train,valid}/JPEGImages/<video>/<frame>.jpg
# data/synthetic_vis/annotations/{train,valid}.json          (raw)
# data/synthetic_vis/annotations/{train,valid}_cocovid.json  (CocoVID)
# Its valid split has ground truth, so it is evaluated locally.
dataset_type = 'SyntheticVISDataset'
data_root = 'data/synthetic_vis/'

backend_args = None

# The generator's default frame size (W, H) = (224, 128). Frames are kept
# at that size rather than resized to 640x360: upscaling adds no detail and
# would make CPU training several times slower.
img_scale = (224, 128)

# Per-frame training transforms, the same random parameters for every frame
# of a sample (clip models reuse them with their own frame sampling).
train_frame_transforms = dict(
    type='TransformBroadcaster',
    share_random_params=True,
    transforms=[
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='LoadTrackAnnotations', with_mask=True),
        dict(type='Resize', scale=img_scale, keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
    ])
train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=10,
        filter_key_img=True),
    train_frame_transforms,
    dict(type='PackTrackInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='TrackImgSampler'),
    batch_sampler=dict(type='TrackAspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train_cocovid.json',
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
        ann_file='annotations/valid_cocovid.json',
        data_prefix=dict(img_path='valid/JPEGImages'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# AP against the raw valid json (it holds the ground truth).
val_evaluator = dict(
    type='VISMetric', ann_file=data_root + 'annotations/valid.json')
test_evaluator = val_evaluator
