"""Sampling the service processes with py-spy while a benchmark runs, summarised as the functions
that hold the most samples (self time, and inclusive time in our own code)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:]*):?(?P<line>\d*)\)$")


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Sampler:
    """``py-spy record`` attached to running processes (with their children) for ``seconds``."""

    def __init__(self, pids: list[int], seconds: float) -> None:
        self._runs: list[tuple[subprocess.Popen[bytes], Path]] = []
        binary = py_spy()
        if binary is None:
            return
        for pid in pids:
            output = Path(tempfile.mkstemp(prefix="casehub-bench-", suffix=".txt")[1])
            process = subprocess.Popen(
                [
                    binary,
                    "record",
                    "--pid",
                    str(pid),
                    "--subprocesses",
                    "--duration",
                    str(max(1, round(seconds))),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--output",
                    str(output),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self._runs.append((process, output))

    def finish(self, top: int = 12) -> str:
        stacks: Counter[str] = Counter()
        for process, output in self._runs:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
            if output.exists():
                for line in output.read_text().splitlines():
                    stack, _, count = line.rpartition(" ")
                    if stack and count.isdigit():
                        stacks[stack] += int(count)
                output.unlink()
        return summarise(stacks, top) if stacks else "(py-spy not available: no profile)"


def _name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("/site-packages/", "/work/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    path = re.sub(r"^[^/]*wt-[^/]*/", "", path)
    return f"{match['function']} ({path})"


def _ours(name: str) -> bool:
    return "(shared/" in name or "(services/" in name


def summarise(stacks: Counter[str], top: int) -> str:
    """Top functions by self samples, then our own functions by inclusive samples."""
    total = sum(stacks.values())
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    idle = ("wait (threading.py)", "select (selectors.py)", "poll (selectors.py)", "sleep")
    busy = 0
    for stack, count in stacks.items():
        frames = [_name(frame) for frame in stack.split(";") if frame.strip()]
        if not frames:
            continue
        leaf = frames[-1]
        if any(leaf.startswith(mark) for mark in idle):
            continue
        busy += count
        own[leaf] += count
        for name in set(frames):
            if _ours(name):
                inclusive[name] += count
    lines = [f"{total} samples, {busy} on CPU or in I/O calls (idle waits left out)", ""]
    lines.append("self  function")
    for name, count in own.most_common(top):
        lines.append(f"{100 * count / max(busy, 1):4.1f}% {name}")
    lines += ["", "incl  our function (with everything it calls)"]
    for name, count in inclusive.most_common(top):
        lines.append(f"{100 * count / max(busy, 1):4.1f}% {name}")
    return "\n".join(lines)
