# Python workload for the Python-frame tests (PythonTests.swift): one way of waiting per
# mode, each in functions of its own so that the tests can look for them in order.
# Prints `tid NAME TID` per thread, then `ready`; exits when stdin closes.
import concurrent.futures
import os
import socket
import sys
import tempfile
import threading
import time

mode = sys.argv[1]
lock = threading.Lock()
threads = []


def start(name, target, *args):
    t = threading.Thread(target=target, args=args, name=name, daemon=True)
    t.start()
    threads.append(t)


def take_lock():
    with lock:
        time.sleep(0.002)


def worker_lock():
    while True:
        take_lock()


def spin_inner(n):
    x = 0
    for i in range(n):
        x += i
    return x


def worker_gil():
    while True:
        spin_inner(10000)


def nap():
    time.sleep(0.005)


def worker_sleep():
    while True:
        nap()


def read_socket(s):
    return s.recv(64)


def worker_recv(s):
    while True:
        read_socket(s)


def worker_send(s):
    while True:
        time.sleep(0.003)
        s.send(b"x")


def write_file(path):
    with open(path, "wb") as f:
        f.write(os.urandom(1 << 16))
        f.flush()
        os.fsync(f.fileno())


def worker_file(path):
    while True:
        write_file(path)


def pool_task(i):
    time.sleep(0.003)  # pool_task waits here
    return i


def pool_submitter(pool):
    while True:
        futures = [pool.submit(pool_task, i) for i in range(4)]
        for f in futures:
            f.result()


def main():
    if mode == "lock":
        for i in range(3):
            start(f"lock-{i}", worker_lock)
    elif mode == "gil":
        for i in range(3):
            start(f"gil-{i}", worker_gil)
    elif mode == "sleep":
        for i in range(2):
            start(f"sleep-{i}", worker_sleep)
    elif mode == "io":
        a, b = socket.socketpair()
        start("recv", worker_recv, a)
        start("send", worker_send, b)
        d = tempfile.mkdtemp()
        start("file", worker_file, os.path.join(d, "data"))
    elif mode == "pool":
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        start("submit", pool_submitter, pool)
    time.sleep(0.1)
    print("ready", flush=True)
    sys.stdin.read()


main()
