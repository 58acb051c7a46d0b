#!/usr/bin/env python3
"""Load for the live benchmark: `rate` operations per second for `seconds`
seconds (bounded: at most rate*seconds operations, and stops after
seconds+5 s of wall time). Prints the number of operations done on stdout.

    load.py RATE SECONDS                 loopback (default)
    load.py RATE SECONDS netns ADDR PORT inside the bench's client namespace

loopback: alternates a UDP connect and one datagram (udpconnect probe; the
kernel drops the datagram, no socket: skbdrop) and a TCP connect to a closed
127.0.0.1 port (soconnect probe, ECONNREFUSED; the kernel drops the SYN, no
socket: skbdrop). Two events per operation.

netns: a non-blocking TCP connect to ADDR:PORT in the server namespace, where
nftables drops half the SYNs at random (skbdrop, NETFILTER_DROP); the client
retransmits a dropped SYN after about 1 s (tcpretrans), the server answers
the others with a reset. Each socket is closed 1.5 s after its connect (at
most rate*1.5 sockets open). About 3 events per operation (2.97 measured:
the connect, 0.75 SYN drops, 0.5 retransmits, and the resets' packets freed
as drops)."""
import collections, resource, socket, sys, time

rate = min(max(int(float(sys.argv[1])), 1), 50_000)
seconds = min(max(float(sys.argv[2]), 0.1), 120)
mode = sys.argv[3] if len(sys.argv) > 3 else "loopback"
if mode == "netns":
    target = (sys.argv[4], int(sys.argv[5]))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, int(rate * 1.5) + 256)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
elif mode != "loopback":
    sys.exit(f"unknown mode {mode!r}")
total = int(rate * seconds)
deadline = time.monotonic() + seconds + 5
t0 = time.monotonic()
done = 0
held = collections.deque()  # (close at, socket), netns mode


def loopback_op(n):
    if n % 2 == 0:
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


def netns_op(now):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(target)
    held.append((now + 1.5, s))


while done < total and time.monotonic() < deadline:
    # pace in slices of 1 ms
    now = time.monotonic()
    due = int((now - t0) * rate) + 1
    while done < min(due, total):
        if mode == "netns":
            netns_op(now)
        else:
            loopback_op(done)
        done += 1
    while held and held[0][0] <= now:
        held.popleft()[1].close()
    ahead = done / rate - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(min(ahead, 0.001))
# let the last connects see their retransmit before closing them
end = time.monotonic() + 1.5
while held and time.monotonic() < end:
    time.sleep(0.05)
    now = time.monotonic()
    while held and held[0][0] <= now:
        held.popleft()[1].close()
for _, s in held:
    s.close()
print(done)
