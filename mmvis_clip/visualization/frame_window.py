"""An OpenCV window that shows frames as they are rendered."""
import os
import subprocess
import sys

import cv2
import numpy as np

from ..utils.user_errors import UserError

#: Keys that close the window: q, Q and Esc.
STOP_KEYS = (ord('q'), ord('Q'), 27)

#: Opens and closes a window in a child process: a Qt build of OpenCV
#: aborts the whole process when it cannot reach the display.
_PROBE = ('import cv2; cv2.namedWindow("probe"); cv2.waitKey(1); '
          'cv2.destroyAllWindows()')


class NoDisplayError(UserError):
    """No window can be opened (no display, or OpenCV built headless)."""


def opencv_gui() -> str:
    """The GUI backend OpenCV was built with (``'NONE'`` when headless),
    from ``cv2.getBuildInformation()``."""
    for line in cv2.getBuildInformation().splitlines():
        key, _, value = line.strip().partition(':')
        if key.strip() == 'GUI':
            return value.strip() or 'NONE'
    return 'NONE'


def check_display(probe_timeout: float = 30.0) -> None:
    """Check that OpenCV can open a window here.

    Raises:
        NoDisplayError: A headless OpenCV, no ``$DISPLAY`` /
            ``$WAYLAND_DISPLAY`` on Linux, or a display it cannot reach.
    """
    gui = opencv_gui()
    if gui.upper() == 'NONE':
        raise NoDisplayError(
            f'OpenCV {cv2.__version__} ({cv2.__file__}) is built without a '
            'GUI backend (a headless build), so it cannot open a window')
    if sys.platform not in ('darwin', 'win32') and not (
            os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        raise NoDisplayError('no display: neither $DISPLAY nor '
                             '$WAYLAND_DISPLAY is set')
    try:
        proc = subprocess.run([sys.executable, '-c', _PROBE],
                              capture_output=True, text=True,
                              timeout=probe_timeout)
    except subprocess.TimeoutExpired:
        raise NoDisplayError(
            f'opening a test window did not finish in {probe_timeout:g} s '
            f'(display {os.environ.get("DISPLAY", "")!r})') from None
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines()
                 if line.strip()]
        # Qt names the display on one line, then explains at length
        named = [line for line in lines if 'display' in line.lower()]
        reason = (named or lines or [f'exit status {proc.returncode}'])[-1]
        display = os.environ.get('DISPLAY') or os.environ.get(
            'WAYLAND_DISPLAY')
        raise NoDisplayError(f'OpenCV ({gui}) cannot open a window on '
                             f'display {display!r}: {reason}')


class FrameWindow:
    """A window showing one frame at a time.

    Args:
        title (str): The window title.

    Raises:
        NoDisplayError: See :func:`check_display`.
    """

    def __init__(self, title: str) -> None:
        check_display()
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        self.closed = False

    def show(self, frame: np.ndarray) -> bool:
        """Show an (H, W, 3) uint8 BGR frame.

        Returns:
            bool: False once the user asked to stop (q or Esc pressed, or
            the window closed).
        """
        if self.closed:
            return False
        cv2.imshow(self.title, frame)
        key = cv2.waitKey(1)
        if (key & 0xFF) in STOP_KEYS or cv2.getWindowProperty(
                self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.close()
            return False
        return True

    def close(self) -> None:
        if not self.closed:
            cv2.destroyWindow(self.title)
            self.closed = True
