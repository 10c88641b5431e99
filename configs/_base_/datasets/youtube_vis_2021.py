# YouTube-VIS 2021. Layout (official files, then converted with
#   python tools/dataset_converters/vis2cocovid.py \
#       --data-root data/youtube_vis_2021 --version 2021):
# data/youtube_vis_2021/{train,valid,test}/JPEGImages/<video>/<frame>.jpg
# data/youtube_vis_2021/{train,valid,test}/instances.json  (official)
# data/youtube_vis_2021/annotations/youtube_vis_2021_{split}.json (CocoVID)
# Pipelines, samplers and metric as for YouTube-VIS 2019.
_base_ = './youtube_vis_2019.py'

data_root = 'data/youtube_vis_2021/'
dataset_version = '2021'

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2021_train.json'))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        dataset_version=dataset_version,
        ann_file='annotations/youtube_vis_2021_valid.json'))
test_dataloader = val_dataloader

val_evaluator = dict(outfile_prefix='./work_dirs/youtube_vis_2021_results')
test_evaluator = val_evaluator
