"""A scripted editor for ``edit`` tests: ``python editor.py FILE``, as $KUBE_EDITOR.

$EDIT_STATE names a directory; invocation N (from 0) runs step N of the JSON list in $EDIT_STEPS and
saves the buffer it was given as ``buffer-N``. A step is a mapping of actions, done in this order:
``run`` (a command, e.g. to change the object meanwhile), ``replace`` ([old, new], old must be there),
``write`` (the whole new text), ``exit`` (exit with this status without saving)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

path = Path(sys.argv[-1])
state = Path(os.environ["EDIT_STATE"])
count = len(list(state.glob("buffer-*")))
text = path.read_text()
(state / f"buffer-{count}").write_text(text)
step = json.loads(os.environ["EDIT_STEPS"])[count]
if "run" in step:
    subprocess.run(step["run"], check=True, capture_output=True)
if "replace" in step:
    old, new = step["replace"]
    if old not in text:
        sys.exit(9)
    text = text.replace(old, new)
if "write" in step:
    text = step["write"]
if "exit" in step:
    sys.exit(step["exit"])
path.write_text(text)
