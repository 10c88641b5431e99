"""Tools that run no model start without torch, mmdet or mmengine, and a
plain ``import mmvis_clip`` still registers every module (for configs'
``custom_imports``)."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ('torch', 'mmdet', 'mmengine', 'mmcv')

LIGHT_TOOLS = [
    'tools/analysis/dataset_motion.py',
    'tools/analysis/eval_vis.py',
    'tools/analysis/frame_diagnosis.py',
    'tools/analysis/render_results.py',
    'tools/dataset_converters/cocotrack2ytvis.py',
    'tools/dataset_converters/frames2ytvis.py',
    'tools/dataset_converters/labelme2ytvis.py',
    'tools/dataset_converters/mots2ytvis.py',
    'tools/dataset_converters/split_ytvis.py',
    'tools/dataset_converters/vis2cocovid.py',
    'tools/misc/make_dataset_config.py',
    'tools/misc/make_synthetic_vis.py',
]


def _python(code, *argv):
    proc = subprocess.run([sys.executable, '-c', code, *map(str, argv)],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=600,
                          env={'PYTHONPATH': str(REPO), 'PATH': ''})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


# runs a tool as its own __main__, then lists the heavy packages loaded
RUN_TOOL = '''
import runpy, sys
tool = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    runpy.run_path(tool, run_name='__main__')
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
print(sorted(m for m in {heavy} if m in sys.modules))
'''.format(heavy=HEAVY)


@pytest.mark.parametrize('tool', LIGHT_TOOLS)
def test_tool_help_loads_no_heavy_package(tool):
    loaded = _python(RUN_TOOL, tool, '--help')
    # make_dataset_config parses configs (mmengine) whatever it is asked
    allowed = "['mmengine']" if 'make_dataset_config' in tool else '[]'
    assert loaded == allowed


def test_eval_vis_evaluates_without_heavy_packages(tmp_path):
    from test_eval_vis_cli import EXPECTED, write_case
    gt_path, res_path, _ = write_case(tmp_path)
    out = tmp_path / 'stats.json'
    assert _python(RUN_TOOL, 'tools/analysis/eval_vis.py', '--gt', gt_path,
                   '--results', res_path, '--out', out) == '[]'
    import json
    assert json.loads(out.read_text()) == pytest.approx(EXPECTED, abs=1e-9)


def test_results_format_imports_no_heavy_package():
    """mmvis_clip.structures (the format the stream API's FrameResult and
    the evaluator share) needs no torch, even in a process that runs a
    model."""
    assert _python('''
__runs_no_model__ = True
import sys
import mmvis_clip.structures
print(sorted(m for m in {heavy} if m in sys.modules))
'''.format(heavy=HEAVY)) == '[]'


def test_plain_import_registers_every_module():
    """As a config's custom_imports does it, in a fresh process that
    imported nothing else first."""
    assert _python('''
import mmvis_clip
from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS
print([r.get(name) is not None for r, name in (
    (MODELS, 'STC'), (DATASETS, 'VISVideoDataset'), (METRICS, 'VISMetric'),
    (HOOKS, 'AtomicCheckpointHook'))])
''') == '[True, True, True, True]'


def test_a_light_start_can_register_later():
    """A script that declared it runs no model, then needs the registry:
    register_all_modules() gives it every module and the subpackages'
    names."""
    assert _python('''
__runs_no_model__ = True
import sys
import mmvis_clip
from mmvis_clip.evaluation.functional import evaluate_vis
before = [m for m in ('torch', 'mmdet') if m in sys.modules]
mmvis_clip.register_all_modules()
from mmdet.registry import MODELS
from mmvis_clip.evaluation import VISMetric, evaluate_vis as again
print(before, MODELS.get('STC') is not None, again is evaluate_vis)
''') == '[] True True'
