"""Import paths of the last release: each still gives the very object now
at its new place, with one FutureWarning naming the new path. (The suite
turns that warning into an error anywhere else, so the package and tools
use none of these paths.)"""
import importlib
import subprocess
import sys

import pytest

MODULES = {
    'mmvis_clip.utils.rle': 'mmvis_clip.structures.rle',
    'mmvis_clip.utils.vis_format': 'mmvis_clip.structures.vis_format',
    'mmvis_clip.apis.frame_result': 'mmvis_clip.structures.frame_result',
    'mmvis_clip.models.utils.clip_schedule':
    'mmvis_clip.models.vis.clip_schedule',
    'mmvis_clip.models.utils.clip_nms': 'mmvis_clip.models.layers.clip_nms',
    'mmvis_clip.models.utils.conv_inflation':
    'mmvis_clip.models.inflation.conv_inflation',
    'mmvis_clip.models.utils.cico_checkpoint':
    'mmvis_clip.models.inflation.cico_checkpoint',
    **{
        f'mmvis_clip.evaluation.functional.{name}':
        f'mmvis_clip.structures.{name}'
        for name in ('track_votes', 'video_results', 'vis_annotations',
                     'vis_results_io', 'vis_results_masks', 'ovis_occlusion')
    },
}


@pytest.mark.parametrize('old,new', sorted(MODULES.items()))
def test_old_module_path_is_the_new_module(old, new):
    # a fresh process: the warning comes at the first import only
    code = ('__runs_no_model__ = True\nimport warnings\n'
            f'warnings.simplefilter("error", FutureWarning)\nimport {old}')
    proc = subprocess.run([sys.executable, '-c', code],
                          capture_output=True, text=True)
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (f'FutureWarning: {old} is deprecated and will be '
                    f'removed in the next release: import {new}')
    with pytest.warns(FutureWarning):
        sys.modules.pop(old, None)
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


@pytest.mark.parametrize('name', ['TrackVotes', 'VideoResults', 'load_json',
                                  'parse_ground_truth', 'VISFormatError'])
def test_old_package_names_are_the_new_objects(name):
    import mmvis_clip.evaluation.functional as old
    import mmvis_clip.structures as new
    with pytest.warns(FutureWarning, match=f'import {name} from '
                      'mmvis_clip.structures'):
        value = getattr(old, name)
    assert value is getattr(new, name)
    with pytest.warns(FutureWarning) as record:
        getattr(old, name)
    assert record[0].filename == __file__  # the line that reads it
    with pytest.raises(AttributeError, match='no attribute'):
        old.no_such_name


@pytest.mark.parametrize('name,new', [
    ('ClipSchedule', 'mmvis_clip.models.vis.clip_schedule'),
    ('inflate_state_dict', 'mmvis_clip.models.inflation.conv_inflation'),
])
def test_old_models_utils_names_are_the_new_objects(name, new):
    import mmvis_clip.models.utils as old
    with pytest.warns(FutureWarning, match=f'import {name} from {new}'):
        value = getattr(old, name)
    assert value is getattr(importlib.import_module(new), name)
