#!/usr/bin/env python3
"""Runs a command (argument list, no shell) and prints its wall and CPU seconds
(user+sys of the command and all its children) as JSON on stderr's last line.
With --stdout-devnull first, the command's stdout is /dev/null itself (not a
pipe someone has to read)."""
import json, resource, subprocess, sys, time

args = sys.argv[1:]
out = None
if args and args[0] == "--stdout-devnull":
    args = args[1:]
    out = subprocess.DEVNULL
t0 = time.monotonic()
rc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out).returncode
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": r.ru_utime + r.ru_stime, "maxrss_kb": r.ru_maxrss}), file=sys.stderr)
sys.exit(rc)
