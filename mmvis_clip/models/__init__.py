from . import (heads, inflation, layers, losses, mask_generators,  # noqa
               task_modules, trackers, utils, vis)
