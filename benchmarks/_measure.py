"""Time a whole process as a user runs it, with that process's own peak resident memory.

The child reports its VmHWM from /proc/self/status at exit (exec resets it). wait4's or RUSAGE_CHILDREN's
maximum would count the pages of this process that a forked child shares before its exec.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import time
from pathlib import Path

_WRAPPER = """
import atexit, runpy, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("VmHWM_KIB=" + line.split()[1] + "\\n")
atexit.register(_peak)
target, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(target, run_name="__main__") if target.endswith(".py") else runpy.run_module(target, run_name="__main__", alter_sys=True)
"""


def measured(target: str, args: list[str], python: str = sys.executable, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Seconds, peak resident MB and stdout of ``python -m target args`` (or ``python target.py args``), one whole process."""
    t0 = time.perf_counter()
    r = subprocess.run([python, "-c", _WRAPPER, target, *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"{target} {' '.join(args)} exited {r.returncode}:\n{r.stderr[-3000:]}")
    return seconds, int(r.stderr.rsplit("VmHWM_KIB=", 1)[1].split()[0]) / 1024, r.stdout


@functools.cache
def _compiled() -> None:
    """Byte-compile assay's sources once, as pip does when it installs the package: a checkout installed in editable mode and
    run with PYTHONDONTWRITEBYTECODE set (as here and in CI) would otherwise compile every module it imports (about 0.1 s) in
    every timed process, which no installed user pays."""
    import compileall

    import assay

    compileall.compile_dir(str(Path(assay.__file__).parent), quiet=1)


def assay(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """The assay CLI as a user types it: ``assay ARGS`` (its bytecode compiled, as an installed package's is)."""
    _compiled()
    return measured("assay.cli", args, env=env)
