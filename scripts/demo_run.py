"""The middle of `make demo`: the guide's Python and Node samples side by side through a leader kill.

    python3 scripts/demo_run.py DEV_LOG WORK NODE_PATH

Starts examples/python/demo_workload.py and examples/node/demo-workload.cjs against the cluster
that DEV_LOG (the output of `kimberlite dev`) describes, prints a live status line from the
clients' stats (leader, acknowledged appends per second, retries, failovers seen), kills the
leader with SIGKILL after a few seconds, stops the workloads a few seconds after the new leader
took over, and prints each client's verdict line. Exits 1 if a client failed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEFORE_KILL, AFTER_KILL = 4.0, 6.0


def dev_state(log: Path):
    text = log.read_text()
    nodes = {m[1]: (int(m[2]), m[3]) for m in re.finditer(r"node=(\d+) pid=(\d+) addr=(\S+)", text)}
    leaders = re.findall(r"leader=(\d+) addr=(\S+)", text)
    return nodes, (leaders[-1][0] if leaders else None)


def status(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def line(docs) -> str:
    parts = []
    for name in ("python", "node"):
        d = docs.get(name)
        if d is None:
            parts.append(f"{name}: starting")
            continue
        parts.append(f"{name}: leader {d['leader'] or '?'} {d['rate']:6.0f} acks/s {d['acked']:6d} acked "
                     f"{d['retries']:3d} retries {d['failovers']} failover(s)")
    return " | ".join(parts)


def main() -> int:
    dev_log, work, node_path = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    nodes, leader = dev_state(dev_log)
    addrs = ",".join(addr for _, (_, addr) in sorted(nodes.items()))
    stop = work / "stop"
    env = dict(os.environ, KIMBERLITE_ADDRESSES=addrs, DEMO_STOP=str(stop))
    py_env = dict(env, DEMO_STATUS=str(work / "python.json"),
                  PYTHONPATH=f"{REPO / 'bindings' / 'python'}{os.pathsep}{REPO / 'examples' / 'python'}")
    procs = {"python": subprocess.Popen([sys.executable, str(REPO / "examples/python/demo_workload.py")], env=py_env,
                                        stdout=subprocess.PIPE, text=True)}
    if node_path:
        node_env = dict(env, DEMO_STATUS=str(work / "node.json"), NODE_PATH=node_path)
        procs["node"] = subprocess.Popen(["node", str(REPO / "examples/node/demo-workload.cjs")], env=node_env,
                                         stdout=subprocess.PIPE, text=True)
    tty = sys.stdout.isatty()
    start = time.monotonic()
    killed_at = None
    last_print = 0.0
    while True:
        now = time.monotonic()
        docs = {n: status(work / f"{n}.json") for n in procs}
        docs = {n: d for n, d in docs.items() if d is not None}
        if killed_at is None and now - start >= BEFORE_KILL and leader:
            pid, addr = nodes[leader]
            print(("\n" if tty else "") + f"== kill -9 the leader: node {leader} ({addr}, pid {pid})", flush=True)
            os.kill(pid, signal.SIGKILL)
            killed_at = now
        if killed_at is not None and now - killed_at >= AFTER_KILL:
            break
        if any(p.poll() is not None for p in procs.values()):
            break
        if tty:
            print("\r" + line(docs).ljust(150), end="", flush=True)
        elif now - last_print >= 1:
            print(line(docs), flush=True)
            last_print = now
        time.sleep(0.25)
    stop.touch()
    verdicts = {}
    for name, p in procs.items():
        try:
            out, _ = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        verdicts[name] = (p.returncode, (out or "").strip().splitlines())
    if tty:
        final = {n: status(work / f"{n}.json") for n in procs}
        print("\r" + line({n: d for n, d in final.items() if d is not None}).ljust(150))
    print()
    code = 0
    for name, (rc, out) in verdicts.items():
        print(out[-1] if out else f"{name}: FAIL: no verdict (exit {rc})")
        code |= rc != 0
    if not node_path:
        print("node:   skipped (Node.js or the addon is not available)")
    return code


if __name__ == "__main__":
    sys.exit(main())
