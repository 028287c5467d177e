"""What the parent does to its heap before fork(): collect once, give freed memory back, freeze (so a child's
collections never touch, and so copy, the pages it shares with the parent); a restart unfreezes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = """
import gc, json, weakref
from httpdw.mpm.parent import freeze_heap_for_fork, thaw_heap_for_restart

class Garbage:
    pass

def cycle():
    g = Garbage()
    g.me = g
    return weakref.ref(g)

gc.disable()            # only freeze_heap_for_fork may collect
facts = {}
first = cycle()
facts["frozen_before"] = gc.get_freeze_count()
freeze_heap_for_fork()
facts["first_fork_collects"] = first() is None
facts["frozen_after"] = gc.get_freeze_count() > 0
second = cycle()
freeze_heap_for_fork()
facts["later_forks_only_freeze"] = second() is not None
thaw_heap_for_restart()
facts["thawed"] = gc.get_freeze_count()
freeze_heap_for_fork()
facts["first_fork_after_restart_collects"] = second() is None
print(json.dumps(facts))
"""


def test_the_heap_is_collected_once_then_frozen_before_fork_and_thawed_on_restart():
    out = subprocess.run([sys.executable, "-c", SCRIPT], env={**os.environ, "PYTHONPATH": REPO},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"frozen_before": 0, "first_fork_collects": True, "frozen_after": True,
                                      "later_forks_only_freeze": True, "thawed": 0,
                                      "first_fork_after_restart_collects": True}
