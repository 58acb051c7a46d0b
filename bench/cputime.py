#!/usr/bin/env python3
"""Runs a command (argument list, no shell) and prints its wall and CPU seconds
(user+sys of the command and all its children) as JSON on stderr's last line."""
import json, resource, subprocess, sys, time

t0 = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL).returncode
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": r.ru_utime + r.ru_stime, "maxrss_kb": r.ru_maxrss}), file=sys.stderr)
sys.exit(rc)
