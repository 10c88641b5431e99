# OVIS. Layout (official files, then converted with
#   python tools/dataset_converters/vis2cocovid.py \
#       --data-root data/ovis --version ovis):
# data/ovis/{train,valid,test}/<video>/<frame>.jpg
# data/ovis/annotations_{train,valid,test}.json        (official)
# data/ovis/annotations/ovis_{split}.json              (CocoVID)
# Pipelines, samplers and metric as for YouTube-VIS 2019 (OVISDataset has
# no dataset_version: its 25 classes are fixed).
_base_ = './youtube_vis_2019.py'

dataset_type = 'OVISDataset'
data_root = 'data/ovis/'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/ovis_train.json',
        data_prefix=dict(img_path='train'),
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/ovis_valid.json',
        data_prefix=dict(img_path='valid'),
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(outfile_prefix='./work_dirs/ovis_results')
test_evaluator = val_evaluator
