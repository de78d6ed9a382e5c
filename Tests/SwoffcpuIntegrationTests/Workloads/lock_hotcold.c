/*
 * lock_hotcold: two global mutexes, one hot and one cold (the lock-contention
 * done criterion, docs/locks.md).
 *
 *   g_hot_lock   N threads "hot0".."hotN-1" (-n, default 4) take it in turn: each
 *                holds it for 900 us (asleep inside hot_critical_section, which
 *                then unlocks it) and stays 100 us outside, so the lock is held
 *                about all the time and N-1 threads queue on it.
 *   g_cold_lock  "cold-holder" holds it 2 ms every 50 ms; "cold-waiter" waits
 *                until it is held, then locks it: about one 2 ms wait per 50 ms.
 *
 * With -f PATH, the time spent in pthread_mutex_lock and holding each lock is
 * counted in PATH (struct lock_counters, little-endian u64s) as ground truth.
 * The addresses of both locks are printed before `ready` (`addr NAME 0x...`).
 */
#include "workload.h"
#include <fcntl.h>
#include <sys/mman.h>

pthread_mutex_t g_hot_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t g_cold_lock = PTHREAD_MUTEX_INITIALIZER;

struct lock_counters {
	uint64_t hot_wait_ns;       /* time in pthread_mutex_lock(&g_hot_lock), all hot threads */
	uint64_t hot_acquisitions;
	uint64_t hot_hold_ns;       /* time holding g_hot_lock */
	uint64_t cold_wait_ns;      /* time in pthread_mutex_lock(&g_cold_lock) by cold-waiter */
	uint64_t cold_acquisitions; /* by cold-waiter */
	uint64_t cold_hold_ns;      /* time cold-holder held it */
};

static struct lock_counters local_counters;
static struct lock_counters *counters = &local_counters;
static volatile int cold_held;

static void add(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static void sleep_ns(long ns)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ns };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The code path that holds the hot lock: sleeps 900 us holding it, then releases it. */
__attribute__((noinline)) static void hot_critical_section(uint64_t acquired)
{
	sleep_ns(900000);
	add(&counters->hot_hold_ns, wl_now_ns() - acquired);
	pthread_mutex_unlock(&g_hot_lock);
}

static void *hot_worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "hot%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	for (;;) {
		uint64_t t0 = wl_now_ns();
		pthread_mutex_lock(&g_hot_lock);
		uint64_t t1 = wl_now_ns();
		add(&counters->hot_wait_ns, t1 - t0);
		add(&counters->hot_acquisitions, 1);
		hot_critical_section(t1);
		sleep_ns(100000);
	}
	return NULL;
}

__attribute__((noinline)) static void cold_critical_section(void)
{
	uint64_t t0 = wl_now_ns();

	__atomic_store_n(&cold_held, 1, __ATOMIC_RELEASE);
	sleep_ns(2000000);
	__atomic_store_n(&cold_held, 0, __ATOMIC_RELEASE);
	add(&counters->cold_hold_ns, wl_now_ns() - t0);
	pthread_mutex_unlock(&g_cold_lock);
}

static void *cold_holder(void *arg)
{
	(void)arg;
	wl_thread_ready("cold-holder");
	for (;;) {
		pthread_mutex_lock(&g_cold_lock);
		cold_critical_section();
		sleep_ns(48000000);
	}
	return NULL;
}

static void *cold_waiter(void *arg)
{
	(void)arg;
	wl_thread_ready("cold-waiter");
	for (;;) {
		while (!__atomic_load_n(&cold_held, __ATOMIC_ACQUIRE))
			sleep_ns(100000);
		uint64_t t0 = wl_now_ns();
		pthread_mutex_lock(&g_cold_lock);
		add(&counters->cold_wait_ns, wl_now_ns() - t0);
		add(&counters->cold_acquisitions, 1);
		pthread_mutex_unlock(&g_cold_lock);
		/* Not again in this holding: wait until it was released. */
		while (__atomic_load_n(&cold_held, __ATOMIC_ACQUIRE))
			sleep_ns(100000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	wl_count = 4;
	wl_parse(argc, argv);
	if (wl_path) {
		int fd = open(wl_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, sizeof(struct lock_counters)) != 0)
			wl_die(wl_path);
		counters = mmap(NULL, sizeof(struct lock_counters), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (counters == MAP_FAILED)
			wl_die("mmap");
		close(fd);
	}
	printf("addr g_hot_lock %p\n", (void *)&g_hot_lock);
	printf("addr g_cold_lock %p\n", (void *)&g_cold_lock);
	for (int i = 0; i < wl_count; i++)
		wl_spawn(hot_worker, (void *)(intptr_t)i);
	wl_spawn(cold_holder, NULL);
	wl_spawn(cold_waiter, NULL);
	return wl_main_loop(wl_count + 2);
}
