"""model-index.yml and the metafiles it imports (read by ``mim search``)."""
import glob
import os.path as osp
import re
from pathlib import Path

import pytest
import yaml
from mmengine import Config

REPO = Path(__file__).resolve().parents[1]
MODEL_INDEX = REPO / 'model-index.yml'


def _imports():
    with open(MODEL_INDEX) as f:
        index = yaml.safe_load(f)
    assert isinstance(index, dict) and set(index) == {'Import'}
    return index['Import']


def _load_metafile(rel_path):
    path = REPO / rel_path
    if not path.is_file():
        pytest.fail(f'{rel_path} is imported by model-index.yml but does '
                    'not exist')
    with open(path) as f:
        meta = yaml.safe_load(f)
    assert set(meta) == {'Collections', 'Models'}, rel_path
    return meta


def _readme_figures(readme, name):
    """``{column: [cell, ...]}`` over the README table rows naming the
    model ``name`` (or ``name.py``); columns are named by the first word
    of their header (``AP (paper)`` -> ``AP``)."""
    figures = {}
    header = None
    with open(REPO / readme) as f:
        for line in f:
            if not line.startswith('|'):
                header = None
                continue
            cells = [c.strip().strip('`') for c in line.strip('|\n')
                     .split('|')]
            if header is None:
                header = [c.split()[0] if c else '' for c in cells]
            elif any(c in (name, name + '.py') for c in cells):
                for column, cell in zip(header, cells):
                    figures.setdefault(column, []).append(cell)
    return figures


def test_model_index_imports_the_method_metafiles():
    assert _imports() == [
        'configs/stc/metafile.yml', 'configs/cico/metafile.yml'
    ]


@pytest.mark.parametrize('rel_path', _imports())
def test_metafile_entries(rel_path):
    meta = _load_metafile(rel_path)
    collections = {}
    for collection in meta['Collections']:
        assert set(collection) >= {'Name', 'Paper', 'README'}
        assert collection['Paper']['URL'].startswith('https://')
        assert collection['Paper']['Title']
        assert (REPO / collection['README']).is_file(), collection['README']
        collections[collection['Name']] = collection
    for model in meta['Models']:
        name = model['Name']
        assert model['In Collection'] in collections, name
        config_path = REPO / model['Config']
        assert config_path.is_file(), f'{name}: {model["Config"]}'
        assert config_path.stem == name  # OpenMMLab naming
        cfg = Config.fromfile(str(config_path))
        assert 'model' in cfg and 'test_dataloader' in cfg, name
        if 'Weights' in model:
            assert model['Weights'].startswith('https://'), name
        assert model['Results'], name
        # every figure is the one in the README's table row of the model
        readme = collections[model['In Collection']]['README']
        figures = _readme_figures(readme, name)
        for result in model['Results']:
            assert result['Task'] and result['Dataset'], name
            assert result['Metrics'], name
            for metric, value in result['Metrics'].items():
                assert isinstance(value, (int, float)), (name, metric)
                cells = [
                    float(m.group()) for cell in figures.get(metric, [])
                    for m in [re.match(r'\d+(\.\d+)?', cell)] if m
                ]
                assert value in cells, (
                    f'{name}: {metric} {value}, but the {readme} table '
                    f'rows of the model give {metric} {cells}')


def test_model_names_are_unique():
    names = [
        model['Name'] for rel_path in _imports()
        for model in _load_metafile(rel_path)['Models']
    ]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    assert not duplicated


def test_stc_metafile_lists_every_main_stc_config():
    # Ablation and analysis configs (no-*, baseline, track-head-only) are
    # README table entries only; the images-as-pseudo-videos mix is a data
    # recipe with no measured result, not a model-zoo entry.
    configs = {
        osp.splitext(osp.basename(path))[0]
        for path in glob.glob(str(REPO / 'configs' / 'stc' / 'stc_*.py'))
        if not any(key in path for key in ('_no-', '_baseline_',
                                           '_track-head-only',
                                           '-pseudo-video-mix_'))
    }
    listed = {
        model['Name']
        for model in _load_metafile('configs/stc/metafile.yml')['Models']
    }
    assert listed == configs
    assert configs == {
        'stc_r50_fpn_8xb2-12e_youtubevis2019',
        'stc_r50_fpn_8xb2-12e_youtubevis2021', 'stc_r50_fpn_8xb2-12e_ovis',
        'stc_r101_fpn_8xb2-12e_youtubevis2019',
        'stc_r18_fpn_1xb4-8e_synthetic'
    }


def test_stc_paper_figures_are_marked_as_such():
    models = {
        model['Name']: model
        for model in _load_metafile('configs/stc/metafile.yml')['Models']
    }
    for name, model in models.items():
        source = model['Metadata']['Results From']
        assert 'Weights' not in model  # nothing released
        if name.endswith('_synthetic'):
            assert source.startswith('measured')
        else:
            assert source.startswith('STC paper') and 'not reproduced' in (
                source)
    assert models['stc_r50_fpn_8xb2-12e_youtubevis2019']['Results'][0][
        'Metrics'] == dict(AP=36.7)
