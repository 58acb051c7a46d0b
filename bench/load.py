#!/usr/bin/env python3
"""Loopback load for the live benchmark: `rate` kernel events per second for
`seconds` seconds (bounded: at most rate*seconds operations, and stops after
seconds+5 s of wall time). Alternates a UDP connect and one datagram
(udpconnect probe; the kernel drops the datagram, no socket: skbdrop) and a
TCP connect to a closed 127.0.0.1 port (soconnect probe, ECONNREFUSED; the
kernel drops the SYN, no socket: skbdrop). Prints the number of operations
done on stdout."""
import socket, sys, time

rate = min(max(int(sys.argv[1]), 1), 50_000)
seconds = min(max(float(sys.argv[2]), 0.1), 120)
total = int(rate * seconds)
deadline = time.monotonic() + seconds + 5
t0 = time.monotonic()
done = 0
while done < total and time.monotonic() < deadline:
    # pace in slices of 1 ms
    due = int((time.monotonic() - t0) * rate) + 1
    while done < min(due, total):
        if done % 2 == 0:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("127.0.0.1", 9))
            try:
                s.send(b"x")
            except OSError:
                pass
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.connect(("127.0.0.1", 9))
            except OSError:
                pass
        s.close()
        done += 1
    ahead = done / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(min(ahead, 0.001))
print(done)
