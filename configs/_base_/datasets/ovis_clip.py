# OVIS for clip models (CiCo): training samples are clips of
# num_frames consecutive frames around each key frame (edge frames repeated
# at the ends of a video) with the same augmentation on every frame.
# Testing, the dataloader yields whole videos and the model cuts them into
# clips. A config changing the clip length restates these lines with its T.
_base_ = './ovis.py'

num_frames = 3
# The public CiCo code's augmentation (the paper gives none): a random zoom
# x0.5-1.5 of the 640x360 scale, cropped back to at most 640x360, and a
# flip, the same on every frame of a clip.
train_frame_transforms = dict(
    type='TransformBroadcaster',
    share_random_params=True,
    transforms=[
        dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
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
train_pipeline = [
    dict(type='ContiguousClipSample', num_frames=num_frames),
    train_frame_transforms,
    dict(type='PackTrackInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
