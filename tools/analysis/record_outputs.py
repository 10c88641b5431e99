"""Record what the models output, to check a refactor changes none of it.

For each config (default: STC, CiCo-Yolact, CiCo-CondInst and MaskTrack
R-CNN on the synthetic data) this writes into ``OUT/<config name>/``:

- ``checkpoint.pth``: the model's weights after seeded initialisation (made
  once, reused when it exists, so a second recording uses the same weights);
- ``test/results.json``: ``tools/test.py``'s YouTube-VIS results on the
  config's test split;
- ``stream.jsonl``: the stream API's output for every test video, one line
  per returned frame result (frame index, ids, labels, scores, boxes, RLE
  masks, in the order ``push`` / ``finish`` returned them) and one line with
  the track summaries ``finish`` returned.

``--compare BEFORE`` then compares OUT with an earlier recording, file by
file and line by line, and names each difference; the exit status is 1 if
there is one::

    python tools/analysis/record_outputs.py --out work_dirs/outputs_before
    # ... change the code ...
    python tools/analysis/record_outputs.py --out work_dirs/outputs_after \\
        --compare work_dirs/outputs_before

Both runs use one CPU thread, so float reductions run in the same order.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIGS = (
    'configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py',
    'configs/cico/cico-yolact_r18_fpn_1xb4-8e_synthetic.py',
    'configs/cico/cico-condinst_r18_fpn_1xb4-8e_synthetic.py',
    'configs/masktrack_rcnn/masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py',
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Record test-loop and stream outputs of fixed-weight '
        'models; compare with an earlier recording.')
    parser.add_argument('configs', nargs='*', default=list(DEFAULT_CONFIGS))
    parser.add_argument('--out', required=True, help='recording folder')
    parser.add_argument('--compare', help='an earlier recording folder')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the initial weights (default 0)')
    parser.add_argument('--max-videos', type=int, default=None,
                        help='stream only the first N test videos')
    return parser.parse_args(argv)


def config_name(config):
    return osp.splitext(osp.basename(config))[0]


def make_checkpoint(config, path, seed):
    """Save the seeded initial weights of ``config``'s model to ``path``
    (atomically) unless the file exists."""
    if osp.isfile(path):
        return
    import torch
    from mmengine.runner import set_random_seed

    from mmvis_clip.apis import init_vis_model
    set_random_seed(seed)
    # torch's default initialisation, not the heads' init_weights: its
    # scores clear the test thresholds, so every stage has work to do
    model = init_vis_model(config)
    tmp = path + '.tmp'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=model.dataset_meta, seed=seed)),
               tmp)
    os.replace(tmp, path)


def run_test(config, checkpoint, out_dir):
    """``tools/test.py`` in a one-thread subprocess; results.json."""
    results = osp.join(out_dir, 'test')
    if osp.isfile(osp.join(results, 'results.json')):
        return
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    with open(osp.join(out_dir, 'test.log'), 'w') as log:
        subprocess.run([
            sys.executable, osp.join(REPO, 'tools/test.py'), config,
            checkpoint, '--work-dir', osp.join(out_dir, 'test_work_dir'),
            '--out', results
        ], env=env, stdout=log, stderr=subprocess.STDOUT, check=True)


def frame_record(video, result):
    """One stream result as a json line (masks as RLE, floats as the
    exact float32 values)."""
    from mmvis_clip.structures.rle import encode_mask
    return dict(
        video=video,
        frame=int(result.frame_index),
        ids=[int(i) for i in result.instances_id],
        labels=[int(i) for i in result.labels],
        scores=[float(s) for s in result.scores],
        bboxes=[[float(v) for v in box] for box in result.bboxes],
        masks=[encode_mask(m)['counts'] for m in result.masks])


def run_stream(config, checkpoint, out_dir, max_videos):
    """The stream API on every test video; ``stream.jsonl``."""
    path = osp.join(out_dir, 'stream.jsonl')
    if osp.isfile(path):
        return
    import torch
    from mmengine.config import Config

    from mmvis_clip.apis import FrameSource, VideoSegmenter, init_vis_model
    torch.set_num_threads(1)
    model = init_vis_model(config, checkpoint)
    cfg = Config.fromfile(config)
    dataset = cfg.test_dataloader.dataset
    frames_root = osp.join(dataset.data_root, dataset.data_prefix.img_path)
    videos = sorted(os.listdir(frames_root))[:max_videos]
    segmenter = VideoSegmenter(model)
    lines = []
    for video in videos:
        segmenter.reset()
        for frame in FrameSource(osp.join(frames_root, video)):
            lines += [frame_record(video, r) for r in segmenter.push(frame)]
        results, summaries = segmenter.finish()
        lines += [frame_record(video, r) for r in results]
        lines.append(dict(video=video, summaries={
            str(i): [int(s.label), float(s.score), int(s.num_frames)]
            for i, s in sorted(summaries.items())}))
    with open(path + '.tmp', 'w') as f:
        for line in lines:
            f.write(json.dumps(line) + '\n')
    os.replace(path + '.tmp', path)


def compare(before, after, names):
    """Differences between two recordings, one line each."""
    problems = []
    for name in names:
        for rel in ('test/results.json', 'stream.jsonl'):
            a, b = osp.join(before, name, rel), osp.join(after, name, rel)
            absent = [str(root) for root, path in ((before, a), (after, b))
                      if not osp.isfile(path)]
            if absent:
                problems.append(f'{name}/{rel}: not in {absent[0]}')
                continue
            with open(a) as fa, open(b) as fb:
                old, new = fa.read(), fb.read()
            if old == new:
                print(f'{name}/{rel}: equal')
                continue
            if rel.endswith('.json'):
                old_items, new_items = json.loads(old), json.loads(new)
            else:
                old_items = [json.loads(x) for x in old.splitlines()]
                new_items = [json.loads(x) for x in new.splitlines()]
            if len(old_items) != len(new_items):
                problems.append(f'{name}/{rel}: {len(old_items)} entries '
                                f'before, {len(new_items)} after')
            differ = [(k, x, y)
                      for k, (x, y) in enumerate(zip(old_items, new_items))
                      if x != y]
            if differ:
                k, x, y = differ[0]
                keys = sorted(key for key in set(x) | set(y)
                              if x.get(key) != y.get(key))
                problems.append(f'{name}/{rel}: entry {k} differs in '
                                f'{", ".join(keys)}')
            if len(differ) > 1:
                keys = sorted({
                    key
                    for _, x, y in differ for key in set(x) | set(y)
                    if x.get(key) != y.get(key)
                })
                problems.append(f'{name}/{rel}: {len(differ)} of '
                                f'{len(old_items)} entries differ, in '
                                f'{", ".join(keys)}')
    return problems


def main(argv=None):
    args = parse_args(argv)
    configs = [c if osp.isabs(c) else osp.join(REPO, c) for c in args.configs]
    for config in configs:
        name = config_name(config)
        out_dir = osp.join(args.out, name)
        os.makedirs(out_dir, exist_ok=True)
        checkpoint = osp.join(out_dir, 'checkpoint.pth')
        if args.compare and not osp.isfile(checkpoint):
            before = osp.join(args.compare, name, 'checkpoint.pth')
            if osp.isfile(before):
                checkpoint = before
        make_checkpoint(config, checkpoint, args.seed)
        print(f'{name}: tools/test.py ...', flush=True)
        run_test(config, checkpoint, out_dir)
        print(f'{name}: stream API ...', flush=True)
        run_stream(config, checkpoint, out_dir, args.max_videos)
    if args.compare:
        problems = compare(args.compare, args.out,
                           [config_name(c) for c in configs])
        for line in problems:
            print(line)
        print('all equal' if not problems else
              f'{len(problems)} difference(s)')
        return 1 if problems else 0
    return 0


if __name__ == '__main__':
    sys.exit(main())
