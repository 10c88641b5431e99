# OVIS for clip models (CiCo): training samples are clips of T
# consecutive frames around each key frame (edge frames repeated at the
# ends of a video) with the same augmentation on every frame. T is
# model.num_frames: tools/train.py sets the sampler's num_frames from it.
# Testing, the dataloader yields whole videos and the model cuts them into
# clips.
_base_ = './ovis.py'

train_pipeline = [
    dict(type='ContiguousClipSample'),
    # the public CiCo code's zoom, crop and flip (see the base)
    _base_.clip_train_frame_transforms,
    dict(type='PackTrackInputs')
]
# 8 workers per GPU: a CiCo GPU batch (6 clips of T = 3 frames) is 18 frames
# to load and augment per iteration, the frame models' 4 (2 x key + ref).
train_dataloader = dict(num_workers=8, dataset=dict(pipeline=train_pipeline))
