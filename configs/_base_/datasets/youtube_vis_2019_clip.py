# YouTube-VIS 2019 for clip models (CiCo): training samples are clips of
# num_frames consecutive frames around each key frame (edge frames repeated
# at the ends of a video) with the same augmentation on every frame.
# Testing, the dataloader yields whole videos and the model cuts them into
# clips. A config changing the clip length restates these lines with its T.
_base_ = './youtube_vis_2019.py'

num_frames = 3
train_pipeline = [
    dict(type='ContiguousClipSample', num_frames=num_frames),
    # the public CiCo code's zoom, crop and flip (see the base)
    _base_.clip_train_frame_transforms,
    dict(type='PackTrackInputs')
]
# 8 workers per GPU: a CiCo GPU batch (6 clips of num_frames) is 18 frames
# to load and augment per iteration, the frame models' 4 (2 x key + ref).
train_dataloader = dict(num_workers=8, dataset=dict(pipeline=train_pipeline))
