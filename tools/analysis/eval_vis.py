"""Evaluate YouTube-VIS / OVIS results offline.

Usage:
    python tools/analysis/eval_vis.py --gt GT.json --results RESULTS
        [--out METRICS.json]

``RESULTS`` is a ``results.json`` (YouTube-VIS results format) or a
submission zip holding ``results.json`` at its root; ``GT.json`` is the raw
YouTube-VIS-format ground truth (``videos``/``annotations``/``categories``).
Prints the 12 stats ``AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl``
(plus ``AP_light AP_medium AP_heavy`` when the ground truth carries OVIS
occlusion labels) and, with ``--out``, writes them as a json object with
exactly these keys, values in [0, 1] and -1 where undefined.
"""
import argparse
import json
import sys

from mmvis_clip.evaluation.functional import (VISFormatError, evaluate_vis,
                                              format_vis_stats)
from mmvis_clip.utils.atomic_io import write_bytes_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate YouTube-VIS / OVIS results (AP/AR)')
    parser.add_argument(
        '--gt', required=True, help='ground truth json (YouTube-VIS format)')
    parser.add_argument(
        '--results',
        required=True,
        help='results.json or a submission zip with results.json at its '
        'root')
    parser.add_argument('--out', help='write the stats to this json file')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        stats = evaluate_vis(args.gt, args.results, progress=True)
    except (VISFormatError, OSError) as err:
        print(f'eval_vis: error: {err}', file=sys.stderr)
        return 1
    print(format_vis_stats(stats))
    if args.out:
        write_bytes_atomic(
            json.dumps(stats, indent=2).encode('utf-8'), args.out)
        print(f'stats written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
