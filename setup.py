import os
import os.path as osp

from setuptools import Extension, setup

#: Files that OpenMMLab's `mim` looks for inside the installed package.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def add_mim_extension():
    """Expose configs, tools and model-index.yml as ``mmvis_clip/.mim``.

    As mmdet does, so that ``mim search mmvis_clip`` lists the model zoo
    and ``mim train/test mmvis_clip CONFIG`` find the configs and tools.
    Relative symlinks in the source tree: an editable install sees the
    live files, and a wheel or sdist build copies their content.
    """
    here = osp.dirname(osp.abspath(__file__))
    mim_dir = osp.join(here, 'mmvis_clip', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        link = osp.join(mim_dir, name)
        if osp.lexists(link) or not osp.exists(osp.join(here, name)):
            continue
        os.symlink(osp.join('..', '..', name), link)


add_mim_extension()
# All metadata lives in setup.cfg. The compiled modules, plain C without
# NumPy headers, for the evaluator: run lengths of many RLE masks at once,
# scans of raw json, and the greedy matching.
setup(ext_modules=[
    Extension(
        'mmvis_clip.structures._rle_runs',
        ['mmvis_clip/structures/rle_runs.c'],
        extra_compile_args=['-O3']),
    Extension(
        'mmvis_clip.structures._vis_format_scan',
        ['mmvis_clip/structures/vis_format_scan.c'],
        extra_compile_args=['-O3']),
    Extension(
        'mmvis_clip.evaluation.functional._greedy_match',
        ['mmvis_clip/evaluation/functional/greedy_match.c'],
        extra_compile_args=['-O3']),
])
