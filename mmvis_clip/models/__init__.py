from . import heads, losses, task_modules, trackers, vis  # noqa: F401
