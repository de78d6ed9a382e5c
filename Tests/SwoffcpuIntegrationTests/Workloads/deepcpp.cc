// deepcpp: C++ threads waiting 24 template levels deep, built by the tests
// (DeepWorkload.swift) with -O2 -fomit-frame-pointer (docs/unwinding.md).
//   "cppmtx"  Deep<24>::run ... -> std::mutex::lock (the driver holds it 20 ms at a time)
//   "cppcv"   Deep<24>::run ... -> std::condition_variable::wait (notified every 20 ms)
// Protocol as workload.h: `tid NAME TID` lines, then `ready`; exits at stdin EOF.
#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

static std::mutex mtx, cvm, out;
static std::condition_variable cv;
static int generation;
static volatile int sink;

#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

__attribute__((noinline)) int wait_bottom(int op)
{
    if (op == 0) {
        std::lock_guard<std::mutex> g(mtx);
        return 1;
    }
    std::unique_lock<std::mutex> l(cvm);
    int g = generation;
    cv.wait(l, [g] { return generation != g; });
    return 2;
}

template <int N> struct Deep {
    __attribute__((noinline)) static int run(int op, int k)
    {
        char buf[256];
        memset(buf, k, sizeof buf);
        ESCAPE(buf);
        int r = Deep<N - 1>::run(op, k + 1);
        ESCAPE(buf);
        return r + buf[k & 255];
    }
};

template <> struct Deep<0> {
    __attribute__((noinline)) static int run(int op, int) { return wait_bottom(op); }
};

static void ready(const char *name, std::vector<std::pair<std::string, long>> &tids, int &n)
{
    pthread_setname_np(pthread_self(), name);
    std::lock_guard<std::mutex> g(out);
    tids.emplace_back(name, (long)syscall(SYS_gettid));
    n++;
}

int main()
{
    std::vector<std::pair<std::string, long>> tids;
    int n = 0;
    mtx.lock();
    std::thread a([&] {
        ready("cppmtx", tids, n);
        std::function<int(int)> f = [](int op) { return Deep<24>::run(op, 1); };
        for (;;) sink += f(0);
    });
    std::thread b([&] {
        ready("cppcv", tids, n);
        for (;;) sink += Deep<24>::run(1, 1);
    });
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        std::lock_guard<std::mutex> g(out);
        if (n == 2) break;
    }
    for (auto &t : tids) printf("tid %s %ld\n", t.first.c_str(), t.second);
    printf("tid wl-main %ld\nready\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    std::thread stop([] {
        char c;
        while (read(0, &c, 1) > 0) {}
        _exit(0);
    });
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        mtx.unlock();
        {
            std::lock_guard<std::mutex> g(cvm);
            generation++;
        }
        cv.notify_all();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        mtx.lock();
    }
}
