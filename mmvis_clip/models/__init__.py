from . import (heads, layers, losses, mask_generators, task_modules,  # noqa
               trackers, utils, vis)
