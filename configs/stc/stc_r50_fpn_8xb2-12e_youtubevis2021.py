# STC R50 on YouTube-VIS 2021 (40 classes, same schedule as 2019).
_base_ = './stc_r50_fpn_8xb2-12e_youtubevis2019.py'

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
