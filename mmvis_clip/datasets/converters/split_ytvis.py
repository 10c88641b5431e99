"""Split a labelled YouTube-VIS json into train / held-out by video, or keep
a subset of its videos (a video goes to one side whole).

Rule (deterministic for a seed):

1. A video's stratum is its rarest category (fewest videos in the input;
   ties: the lower id); videos without annotations form a last stratum.
   Strata are ordered by (videos of that category, category id).
2. Each stratum's videos (input order) are shuffled with
   ``random.Random(seed)``; after stratum ``i`` the held-out side holds
   ``floor(num_held_out * n_i / n + 0.5)`` videos (``n_i``: videos in
   strata ``0..i``, ``n``: all), taken from the front of the stratum.
3. Greedy repair: each category in >= 2 videos but on one side only (in
   rarity order) swaps one of its videos with one of the other side, the
   first pair in shuffled order that takes no category off a side; where
   none exists it stays on one side.

``subset`` (N videos) uses steps 1 and 2 with N as ``num_held_out`` and
keeps the held-out side. The outputs keep every field of the input and of
the kept videos and annotations, in input order; the input is checked as
``vis2cocovid.py`` checks it.
"""
import argparse
import math
import random
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence, Set, Tuple

from terminaltables import AsciiTable

from ...structures.vis_format import VISFormatError, load_json
from ...utils.atomic_io import dump_json_atomic, refuse_overwriting_inputs
from ...utils.user_errors import UserError, exit_on_user_error
from .vis2cocovid import convert_vis_to_cocovid

#: Names of the two sides of a split.
SIDES = ('train', 'held-out')


def load_labelled_ytvis(path: str) -> dict:
    """Read and check a labelled YouTube-VIS json.

    Raises:
        VISFormatError: It breaks the format (naming the file, video,
            annotation and field) or has no annotation.
        OSError: It is missing or unreadable.
    """
    ytvis = load_json(path)
    convert_vis_to_cocovid(ytvis, source=path, show_progress=False)
    if not ytvis.get('annotations'):
        raise VISFormatError(
            f'{path}: field "annotations" is empty or missing; splitting '
            'needs a labelled json')
    return ytvis


def _video_categories(ytvis: dict) -> Dict[int, Set[int]]:
    """Video id -> the category ids of its annotations."""
    categories = {video['id']: set() for video in ytvis['videos']}
    for ann in ytvis['annotations']:
        categories[ann['video_id']].add(ann['category_id'])
    return categories


def _strata(video_ids: Sequence[int], categories: Dict[int, Set[int]],
            rng: random.Random) -> List[List[int]]:
    """Videos grouped by rarest category (step 1), each shuffled."""
    frequency = Counter(c for v in video_ids for c in categories[v])
    groups: Dict[Optional[int], List[int]] = defaultdict(list)
    for video_id in video_ids:
        cats = categories[video_id]
        key = min(cats, key=lambda c: (frequency[c], c)) if cats else None
        groups[key].append(video_id)
    order = sorted((k for k in groups if k is not None),
                   key=lambda c: (frequency[c], c))
    if None in groups:
        order.append(None)
    strata = []
    for key in order:
        stratum = list(groups[key])
        rng.shuffle(stratum)
        strata.append(stratum)
    return strata


def _proportional_pick(strata: List[List[int]], num: int,
                       total: int) -> List[int]:
    """The first videos of each stratum, ``num`` in all (step 2)."""
    picked, seen = [], 0
    for stratum in strata:
        before = math.floor(num * seen / total + 0.5)
        seen += len(stratum)
        after = math.floor(num * seen / total + 0.5)
        picked += stratum[:after - before]
    assert len(picked) == num
    return picked


def _repair(sides: Tuple[List[int], List[int]],
            categories: Dict[int, Set[int]]) -> None:
    """Swap videos so that categories of >= 2 videos are on both sides
    where possible (step 3); ``sides`` is changed in place."""
    counts = [Counter(c for v in side for c in categories[v])
              for side in sides]
    frequency = counts[0] + counts[1]
    for cat in sorted(frequency, key=lambda c: (frequency[c], c)):
        if frequency[cat] < 2 or (counts[0][cat] and counts[1][cat]):
            continue
        full = 0 if counts[0][cat] else 1
        other = 1 - full
        pair = next(((i, j) for i, v in enumerate(sides[full])
                     if cat in categories[v]
                     for j, u in enumerate(sides[other])
                     if _swap_keeps_coverage(categories[v], categories[u],
                                             counts[full], counts[other])),
                    None)
        if pair is None:
            continue
        i, j = pair
        v, u = sides[full][i], sides[other][j]
        sides[full][i], sides[other][j] = u, v
        counts[full].subtract(categories[v])
        counts[full].update(categories[u])
        counts[other].subtract(categories[u])
        counts[other].update(categories[v])


def _swap_keeps_coverage(leaving: Set[int], arriving: Set[int],
                         here: Counter, there: Counter) -> bool:
    """Whether exchanging a video of ``leaving`` categories on side
    ``here`` for one of ``arriving`` categories on side ``there`` keeps
    every category on each side that had it."""
    for c in leaving | arriving:
        moved = (c in arriving) - (c in leaving)
        if here[c] and here[c] + moved <= 0:
            return False
        if there[c] and there[c] - moved <= 0:
            return False
    return True


def split_video_ids(ytvis: dict, num_held_out: int,
                    seed: int = 0) -> Tuple[List[int], List[int]]:
    """Split the videos of ``ytvis`` by the rule of the module docstring.

    Args:
        ytvis (dict): A checked YouTube-VIS json.
        num_held_out (int): Videos to hold out, ``1 <= k < #videos``.
        seed (int): Seed of the shuffles. Defaults to 0.

    Returns:
        tuple[list[int], list[int]]: Train and held-out video ids, each in
        input order.
    """
    video_ids = [video['id'] for video in ytvis['videos']]
    assert 0 < num_held_out < len(video_ids)
    categories = _video_categories(ytvis)
    strata = _strata(video_ids, categories, random.Random(seed))
    held = set(_proportional_pick(strata, num_held_out, len(video_ids)))
    shuffled = [v for stratum in strata for v in stratum]
    sides = ([v for v in shuffled if v not in held],
             [v for v in shuffled if v in held])
    _repair(sides, categories)
    order = {v: i for i, v in enumerate(video_ids)}
    train, held_out = (sorted(side, key=order.__getitem__) for side in sides)
    return train, held_out


def subset_video_ids(ytvis: dict, num_videos: int, seed: int = 0) -> List[int]:
    """``num_videos`` video ids picked as the held-out side of the rule's
    steps 1 and 2 (no repair), in input order."""
    video_ids = [video['id'] for video in ytvis['videos']]
    assert 0 < num_videos <= len(video_ids)
    strata = _strata(video_ids, _video_categories(ytvis),
                     random.Random(seed))
    kept = set(_proportional_pick(strata, num_videos, len(video_ids)))
    return [v for v in video_ids if v in kept]


def select_videos(ytvis: dict, video_ids: Sequence[int]) -> dict:
    """``ytvis`` with only the videos ``video_ids`` and their annotations;
    every other top-level field and every kept record unchanged."""
    keep = set(video_ids)
    out = {
        key: value
        for key, value in ytvis.items()
        if key not in ('videos', 'annotations')
    }
    out['videos'] = [v for v in ytvis['videos'] if v['id'] in keep]
    out['annotations'] = [
        a for a in ytvis['annotations'] if a['video_id'] in keep
    ]
    return out


def num_held_out_videos(num_videos: int, source: str,
                        fraction: Optional[float] = None,
                        num: Optional[int] = None) -> int:
    """The number of videos to hold out, from a fraction or a count.

    Raises:
        UserError: Naming the file and the option when the split would
            leave a side empty.
    """
    assert (fraction is None) != (num is None)
    if fraction is not None:
        if not 0 < fraction < 1:
            raise UserError(f'--held-out-fraction must be in (0, 1), got '
                            f'{fraction}')
        num = math.floor(fraction * num_videos + 0.5)
        option = f'--held-out-fraction {fraction} ({num} of {num_videos} ' \
                 'videos)'
    else:
        option = f'--num-held-out {num}'
    if num < 1:
        raise UserError(f'{source}: {option} holds out no video')
    if num >= num_videos:
        raise UserError(f'{source}: {option} holds out {num} videos but the '
                        f'json has {num_videos}; at least one must stay '
                        'for training')
    return num


def class_table(parts: Dict[str, dict]) -> str:
    """Per-class videos / instances of each part, and their totals.

    Args:
        parts (dict[str, dict]): Part name -> its json (all with the same
            ``categories``).

    Returns:
        str: An ASCII table.
    """
    head = ['category']
    for name in parts:
        head += [f'{name} videos', f'{name} instances']
    rows = [head]
    stats = {}
    for name, part in parts.items():
        instances = Counter(a['category_id'] for a in part['annotations'])
        videos = Counter(c for cats in _video_categories(part).values()
                         for c in cats)
        stats[name] = (videos, instances, len(part['videos']),
                       len(part['annotations']))
    for cat in next(iter(parts.values()))['categories']:
        row = [cat['name']]
        for videos, instances, _, _ in stats.values():
            row += [videos[cat['id']], instances[cat['id']]]
        rows.append(row)
    total = ['total']
    for _, _, num_videos, num_instances in stats.values():
        total += [num_videos, num_instances]
    rows.append(total)
    table = AsciiTable(rows)
    table.inner_footing_row_border = True
    return table.table


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Split a labelled YouTube-VIS json into train / '
        'held-out by video (seeded, stratified by each video\'s rarest '
        'category), or keep a subset of its videos. Outputs keep every '
        'field of the input; rule: '
        'mmvis_clip/datasets/converters/split_ytvis.py')
    parser.add_argument('ann_file', help='labelled YouTube-VIS json')
    held = parser.add_mutually_exclusive_group()
    held.add_argument(
        '--held-out-fraction',
        type=float,
        help='fraction of the videos to hold out (rounded to a count)')
    held.add_argument(
        '--num-held-out', type=int, help='number of videos to hold out')
    parser.add_argument(
        '--subset',
        type=int,
        metavar='N',
        help='first keep N videos (stratified as the split); with a '
        'held-out option the N videos are then split')
    parser.add_argument('--train-out', help='train json to write')
    parser.add_argument('--held-out-out', help='held-out json to write')
    parser.add_argument(
        '--out', help='json of the subset (with --subset and no split)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed (default: 0)')
    args = parser.parse_args(argv)
    splitting = args.held_out_fraction is not None or \
        args.num_held_out is not None
    if splitting:
        if args.train_out is None or args.held_out_out is None:
            parser.error('a split needs --train-out and --held-out-out')
        if args.out is not None:
            parser.error('--out is for --subset without a split; a split '
                         'writes --train-out and --held-out-out')
    else:
        if args.subset is None:
            parser.error('give --held-out-fraction or --num-held-out (a '
                         'split), or --subset N with --out')
        if args.out is None:
            parser.error('--subset without a split needs --out')
        if args.train_out is not None or args.held_out_out is not None:
            parser.error('--train-out/--held-out-out need '
                         '--held-out-fraction or --num-held-out')
    return args


def split_ytvis(ann_file: str,
                seed: int = 0,
                subset: Optional[int] = None,
                held_out_fraction: Optional[float] = None,
                num_held_out: Optional[int] = None) -> Dict[str, dict]:
    """Subset and/or split ``ann_file`` (see the module docstring).

    Args:
        ann_file (str): A labelled YouTube-VIS json.
        seed (int): Seed. Defaults to 0.
        subset (int, optional): Keep this many videos first.
        held_out_fraction (float, optional): Fraction of the (kept) videos
            to hold out.
        num_held_out (int, optional): Number of (kept) videos to hold out;
            at most one of the two.

    Returns:
        dict[str, dict]: ``{'subset': json}`` without a split, else
        ``{'train': json, 'held-out': json}``.

    Raises:
        UserError: Bad input or options, naming the file or option.
    """
    ytvis = load_labelled_ytvis(ann_file)
    num_videos = len(ytvis['videos'])
    if subset is not None:
        if not 0 < subset <= num_videos:
            raise UserError(f'{ann_file}: --subset {subset} must be between '
                            f'1 and the {num_videos} videos of the json')
        ytvis = select_videos(ytvis, subset_video_ids(ytvis, subset, seed))
        if held_out_fraction is None and num_held_out is None:
            return dict(subset=ytvis)
    num = num_held_out_videos(
        len(ytvis['videos']), ann_file, held_out_fraction, num_held_out)
    train, held_out = split_video_ids(ytvis, num, seed)
    return {
        SIDES[0]: select_videos(ytvis, train),
        SIDES[1]: select_videos(ytvis, held_out)
    }


def main(argv: Optional[List[str]] = None) -> None:
    """Command line entry point (``tools/dataset_converters/
    split_ytvis.py`` calls it)."""
    args = parse_args(argv)
    with exit_on_user_error():
        outputs = {
            '--train-out': args.train_out,
            '--held-out-out': args.held_out_out,
            '--out': args.out
        }
        refuse_overwriting_inputs(outputs, [('input json', args.ann_file)])
        parts = split_ytvis(args.ann_file, args.seed, args.subset,
                            args.held_out_fraction, args.num_held_out)
        paths = dict(
            subset=args.out,
            train=args.train_out,
            **{'held-out': args.held_out_out})
        for name, part in parts.items():
            dump_json_atomic(part, paths[name])
    print(class_table(parts))
    for name, part in parts.items():
        print(f'{paths[name]}: {len(part["videos"])} videos, '
              f'{len(part["annotations"])} instances ({name})')


__all__ = [
    'SIDES', 'load_labelled_ytvis', 'split_video_ids', 'subset_video_ids',
    'select_videos', 'num_held_out_videos', 'class_table', 'split_ytvis',
    'main'
]
