"""Evaluate YouTube-VIS / OVIS results offline.

Usage:
    python tools/analysis/eval_vis.py --gt GT.json --results RESULTS
        [--out METRICS.json] [--hota [--hota-score-thr THR]
        [--hota-average {detection,class}]]

``RESULTS`` is a ``results.json`` (YouTube-VIS results format) or a
submission zip holding ``results.json`` at its root; ``GT.json`` is the raw
YouTube-VIS-format ground truth (``videos``/``annotations``/``categories``).
Prints the 12 stats ``AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl``
or, when the ground truth carries OVIS occlusion labels, the 18 of the
official OVIS code (those plus ``AP_light AP_medium AP_heavy`` and
``AR_light AR_medium AR_heavy``, in its order); with ``--hota`` also
``HOTA DetA AssA LocA IDF1`` computed by TrackEval (``pip install
trackeval``). With ``--out`` it writes them as a json object with exactly
these keys, values in [0, 1] and -1 where undefined.

Ground truth without videos, or without an annotation that is not a
crowd, is refused (nothing to evaluate), as is an ``--out`` that is the
ground truth or the results file. Errors are one line on stderr naming
the file and field, exit status 1.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

import argparse
import json
import math
import sys

from mmvis_clip.evaluation.functional import (HOTA_AVERAGES,
                                              HOTAUnavailableError,
                                              evaluate_vis, format_vis_stats)
from mmvis_clip.utils.atomic_io import (refuse_overwriting_inputs,
                                        write_bytes_atomic)
from mmvis_clip.utils.user_errors import USER_ERRORS, one_line


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate YouTube-VIS / OVIS results (AP/AR, and HOTA '
        'with --hota)')
    parser.add_argument(
        '--gt', required=True, help='ground truth json (YouTube-VIS format)')
    parser.add_argument(
        '--results',
        required=True,
        help='results.json or a submission zip with results.json at its '
        'root')
    parser.add_argument('--out', help='write the stats to this json file')
    parser.add_argument(
        '--hota',
        action='store_true',
        help='also report HOTA, DetA, AssA, LocA and IDF1 (TrackEval)')
    parser.add_argument(
        '--hota-score-thr',
        type=float,
        default=None,
        help='with --hota: count only predictions scoring at least this '
        'for HOTA (default: all, as TrackEval does; AP always uses all)')
    parser.add_argument(
        '--hota-average',
        choices=list(HOTA_AVERAGES),
        default='detection',
        help='with --hota: combine categories per detection (TrackEval '
        'cls_comb_det_av, default) or per class (cls_comb_cls_av)')
    args = parser.parse_args(argv)
    if not args.hota and (args.hota_score_thr is not None
                          or args.hota_average != 'detection'):
        parser.error('--hota-score-thr and --hota-average need --hota')
    if args.hota_score_thr is not None and not math.isfinite(
            args.hota_score_thr):
        parser.error(f'--hota-score-thr must be a finite number, got '
                     f'{args.hota_score_thr}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        refuse_overwriting_inputs({'--out': args.out},
                                  [('ground truth', args.gt),
                                   ('results file', args.results)])
        stats = evaluate_vis(
            args.gt,
            args.results,
            progress=True,
            hota=args.hota,
            hota_score_thr=args.hota_score_thr,
            hota_average=args.hota_average)
        if args.out:
            write_bytes_atomic(
                json.dumps(stats, indent=2).encode('utf-8'), args.out)
    except USER_ERRORS + (HOTAUnavailableError, ) as err:
        print(f'eval_vis: error: {one_line(err)}', file=sys.stderr)
        return 1
    print(format_vis_stats(stats))
    if args.hota:
        kept = 'all predictions' if args.hota_score_thr is None else \
            f'predictions scoring >= {args.hota_score_thr}'
        print(f'HOTA stats: TrackEval, {args.hota_average}-averaged over '
              f'categories, on {kept}')
    if args.out:
        print(f'stats written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
