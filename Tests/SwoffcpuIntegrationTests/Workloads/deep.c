/*
 * deep: threads that wait dozens of frames deep in code built without frame
 * pointers (docs/unwinding.md). Built by the tests (DeepWorkload.swift) with
 * -O2 -fomit-frame-pointer, linked with libdeep.so (also without frame
 * pointers) and libdeepfp.so (with frame pointers). Every level keeps a
 * 256-byte buffer, so the thread's entry function is ~7 KB above the leaf.
 *
 *   "mtx"     x01..x24 -> pthread_mutex_lock (the driver holds it 20 ms at a time)
 *   "cv"      x01..x24 -> pthread_cond_wait (broadcast every 20 ms)
 *   "rd"      x01..x24 -> read() on a pipe written every 20 ms
 *   "ns"      x01..x24 -> nanosleep(10 ms)
 *   "lib"     y01..y12 -> libdeep.so l01..l12 -> nanosleep(10 ms)
 *   "mix"     z01..z08 -> libdeepfp.so f01..f08 -> z_leaf -> nanosleep(10 ms)
 *   "parked"  x01..x24 -> read() on a pipe nobody writes (waiting before any trace)
 *   "driver"  the mutex, the condvar and the pipe's writer
 */
#include "workload.h"

enum { OP_MUTEX, OP_COND, OP_READ, OP_SLEEP, OP_PARK };

#include "deep_levels.h"

extern int lib_enter(int op, int k);
extern int fp_enter(int (*leaf)(int, int), int op, int k);

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cvm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int rdpipe[2], parkpipe[2];
static volatile int generation;

static void nap_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

__attribute__((noinline)) int x_bottom(int op, int k)
{
	char c = 0;
	int g;

	switch (op) {
	case OP_MUTEX:
		pthread_mutex_lock(&mtx);
		pthread_mutex_unlock(&mtx);
		break;
	case OP_COND:
		pthread_mutex_lock(&cvm);
		g = generation;
		while (g == generation)
			pthread_cond_wait(&cv, &cvm);
		pthread_mutex_unlock(&cvm);
		break;
	case OP_READ:
		if (read(rdpipe[0], &c, 1) < 0)
			wl_die("read");
		break;
	case OP_SLEEP:
		nap_ms(10);
		break;
	case OP_PARK:
		if (read(parkpipe[0], &c, 1) < 0)
			wl_die("read");
		break;
	}
	return k + c;
}

LEVEL(x24, x_bottom) LEVEL(x23, x24) LEVEL(x22, x23) LEVEL(x21, x22) LEVEL(x20, x21) LEVEL(x19, x20)
LEVEL(x18, x19) LEVEL(x17, x18) LEVEL(x16, x17) LEVEL(x15, x16) LEVEL(x14, x15) LEVEL(x13, x14)
LEVEL(x12, x13) LEVEL(x11, x12) LEVEL(x10, x11) LEVEL(x09, x10) LEVEL(x08, x09) LEVEL(x07, x08)
LEVEL(x06, x07) LEVEL(x05, x06) LEVEL(x04, x05) LEVEL(x03, x04) LEVEL(x02, x03) LEVEL(x01, x02)

LEVEL(y12, lib_enter) LEVEL(y11, y12) LEVEL(y10, y11) LEVEL(y09, y10) LEVEL(y08, y09) LEVEL(y07, y08)
LEVEL(y06, y07) LEVEL(y05, y06) LEVEL(y04, y05) LEVEL(y03, y04) LEVEL(y02, y03) LEVEL(y01, y02)

/* Called back from the frame-pointer library. */
__attribute__((noinline)) int z_leaf(int op, int k)
{
	char buf[256];

	memset(buf, k, sizeof buf);
	ESCAPE(buf);
	nap_ms(10);
	ESCAPE(buf);
	return buf[k & 255] + op;
}

__attribute__((noinline)) int z_fp(int op, int k)
{
	int r = fp_enter(z_leaf, op, k);

	ESCAPE(&r);
	return r + 1;
}

LEVEL(z08, z_fp) LEVEL(z07, z08) LEVEL(z06, z07) LEVEL(z05, z06) LEVEL(z04, z05) LEVEL(z03, z04)
LEVEL(z02, z03) LEVEL(z01, z02)

static volatile int sink;

#define ENTRY(fn, name, chain, op)                             \
	static void *fn(void *arg)                             \
	{                                                      \
		(void)arg;                                     \
		wl_thread_ready(name);                         \
		for (;;)                                       \
			sink += chain(op, 1);                  \
		return NULL;                                   \
	}

ENTRY(mtx_entry, "mtx", x01, OP_MUTEX)
ENTRY(cv_entry, "cv", x01, OP_COND)
ENTRY(rd_entry, "rd", x01, OP_READ)
ENTRY(ns_entry, "ns", x01, OP_SLEEP)
ENTRY(lib_entry, "lib", y01, OP_SLEEP)
ENTRY(mix_entry, "mix", z01, OP_SLEEP)
ENTRY(parked_entry, "parked", x01, OP_PARK)

static void *driver(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mtx);
	wl_thread_ready("driver");
	for (;;) {
		nap_ms(20);
		pthread_mutex_unlock(&mtx);
		pthread_mutex_lock(&cvm);
		generation++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&cvm);
		if (write(rdpipe[1], "x", 1) != 1)
			wl_die("write");
		nap_ms(1);
		pthread_mutex_lock(&mtx);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	if (pipe(rdpipe) || pipe(parkpipe))
		wl_die("pipe");
	wl_spawn(driver, NULL);
	wl_spawn(mtx_entry, NULL);
	wl_spawn(cv_entry, NULL);
	wl_spawn(rd_entry, NULL);
	wl_spawn(ns_entry, NULL);
	wl_spawn(lib_entry, NULL);
	wl_spawn(mix_entry, NULL);
	wl_spawn(parked_entry, NULL);
	return wl_main_loop(8);
}
