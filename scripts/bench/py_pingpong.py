# Python ping-pong for scripts/bench/python.py: two threads hand a token back and forth
# through two threading.Locks (each hand-off a futex wait and a GIL hand-over). Prints
# `ready`, waits for a line on stdin, runs N round trips and prints the seconds they took.
import sys
import threading
import time

n = int(sys.argv[1])
a = threading.Lock()
b = threading.Lock()
a.acquire()
b.acquire()


def ping():
    for _ in range(n):
        a.release()
        b.acquire()


def pong():
    for _ in range(n):
        a.acquire()
        b.release()


print("ready", flush=True)
sys.stdin.readline()
t0 = time.monotonic()
t = threading.Thread(target=pong)
t.start()
ping()
t.join()
print(f"{time.monotonic() - t0:.6f}", flush=True)
