# The synthetic VIS dataset for clip models (CiCo): training samples are
# clips of T consecutive frames around each key frame (edge frames repeated
# at the ends of a video) with the same augmentation on every frame. T is
# model.num_frames: tools/train.py sets the sampler's num_frames from it.
# Testing, the dataloader yields whole videos and the model cuts them into
# clips.
_base_ = './synthetic_vis.py'

train_pipeline = [
    dict(type='ContiguousClipSample'),
    _base_.train_frame_transforms,
    dict(type='PackTrackInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
