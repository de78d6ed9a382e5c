/*
 * lock_kinds: one futex-based primitive per pair of threads, each on its own
 * global (or heap, or stack) object, so that the tests can check the kind and
 * the name the lock report gives each (docs/locks.md):
 *
 *   g_rwlock      writer-preferring rwlock: "rw-writer" holds it 2 ms every 3 ms,
 *                 "rw-reader0/1" read it 300 us at a time: writers block readers.
 *   g_queue_cond  producer/consumer condition variable (with g_queue_lock):
 *                 "producer" queues an item every 4 ms, "consumer0/1" wait for items.
 *   g_sem         semaphore: "sem-poster" posts every 3 ms, "sem-waiter" waits.
 *   g_pi_lock     PTHREAD_PRIO_INHERIT mutex (FUTEX_LOCK_PI): "pi0/pi1" hold it 1 ms.
 *   g_barrier     barrier of 2: "barrier0" arrives 1 ms, "barrier1" 3 ms after each round.
 *   heap lock     a malloc'd mutex: "heap0/heap1" hold it 500 us.
 *   stack lock    a mutex on the stack of "stk-owner", shared with "stk-peer".
 *   join          "joiner" starts a thread that sleeps 2 ms and joins it, in a loop.
 *
 * Addresses are printed before `ready`: `addr NAME 0x...`.
 */
#include "workload.h"
#include <semaphore.h>

pthread_rwlock_t g_rwlock;
pthread_mutex_t g_queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_queue_cond = PTHREAD_COND_INITIALIZER;
static int g_items;
sem_t g_sem;
pthread_mutex_t g_pi_lock;
pthread_barrier_t g_barrier;
static pthread_mutex_t *heap_lock;

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *rw_writer(void *arg)
{
	(void)arg;
	wl_thread_ready("rw-writer");
	for (;;) {
		pthread_rwlock_wrlock(&g_rwlock);
		sleep_us(2000);
		pthread_rwlock_unlock(&g_rwlock);
		sleep_us(1000);
	}
	return NULL;
}

static void *rw_reader(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "rw-reader%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	for (;;) {
		pthread_rwlock_rdlock(&g_rwlock);
		sleep_us(300);
		pthread_rwlock_unlock(&g_rwlock);
		sleep_us(300);
	}
	return NULL;
}

static void *producer(void *arg)
{
	(void)arg;
	wl_thread_ready("producer");
	for (;;) {
		sleep_us(4000);
		pthread_mutex_lock(&g_queue_lock);
		g_items++;
		pthread_cond_signal(&g_queue_cond);
		pthread_mutex_unlock(&g_queue_lock);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "consumer%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	for (;;) {
		pthread_mutex_lock(&g_queue_lock);
		while (g_items == 0)
			pthread_cond_wait(&g_queue_cond, &g_queue_lock);
		g_items--;
		pthread_mutex_unlock(&g_queue_lock);
	}
	return NULL;
}

static void *sem_poster(void *arg)
{
	(void)arg;
	wl_thread_ready("sem-poster");
	for (;;) {
		sleep_us(3000);
		sem_post(&g_sem);
	}
	return NULL;
}

static void *sem_waiter(void *arg)
{
	(void)arg;
	wl_thread_ready("sem-waiter");
	for (;;)
		while (sem_wait(&g_sem) != 0 && errno == EINTR)
			;
	return NULL;
}

static void *pi_worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "pi%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	for (;;) {
		pthread_mutex_lock(&g_pi_lock);
		sleep_us(1000);
		pthread_mutex_unlock(&g_pi_lock);
		sleep_us(100);
	}
	return NULL;
}

static void *barrier_worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	char name[16];

	snprintf(name, sizeof(name), "barrier%d", i);
	wl_thread_ready(name);
	for (;;) {
		sleep_us(i == 0 ? 1000 : 3000);
		pthread_barrier_wait(&g_barrier);
	}
	return NULL;
}

static void *heap_worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "heap%d", (int)(intptr_t)arg);
	wl_thread_ready(name);
	for (;;) {
		pthread_mutex_lock(heap_lock);
		sleep_us(500);
		pthread_mutex_unlock(heap_lock);
		sleep_us(100);
	}
	return NULL;
}

static void stack_lock_loop(pthread_mutex_t *m)
{
	for (;;) {
		pthread_mutex_lock(m);
		sleep_us(500);
		pthread_mutex_unlock(m);
		sleep_us(100);
	}
}

static void *stack_peer(void *arg)
{
	wl_thread_ready("stk-peer");
	stack_lock_loop(arg);
	return NULL;
}

static void *stack_owner(void *arg)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER; /* lives on this thread's stack */

	(void)arg;
	printf("addr stack_lock %p\n", (void *)&m);
	wl_spawn(stack_peer, &m);
	wl_thread_ready("stk-owner");
	stack_lock_loop(&m);
	return NULL;
}

static void *short_child(void *arg)
{
	(void)arg;
	sleep_us(2000);
	return NULL;
}

static void *joiner(void *arg)
{
	(void)arg;
	wl_thread_ready("joiner");
	for (;;) {
		pthread_t t;

		if (pthread_create(&t, NULL, short_child, NULL) == 0)
			pthread_join(t, NULL);
		sleep_us(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_rwlockattr_t rwa;
	pthread_mutexattr_t ma;

	wl_parse(argc, argv);
	pthread_rwlockattr_init(&rwa);
	pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&g_rwlock, &rwa);
	sem_init(&g_sem, 0, 0);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&g_pi_lock, &ma);
	pthread_barrier_init(&g_barrier, NULL, 2);
	heap_lock = malloc(sizeof(*heap_lock));
	pthread_mutex_init(heap_lock, NULL);

	printf("addr g_rwlock %p\n", (void *)&g_rwlock);
	printf("addr g_queue_lock %p\n", (void *)&g_queue_lock);
	printf("addr g_queue_cond %p\n", (void *)&g_queue_cond);
	printf("addr g_sem %p\n", (void *)&g_sem);
	printf("addr g_pi_lock %p\n", (void *)&g_pi_lock);
	printf("addr g_barrier %p\n", (void *)&g_barrier);
	printf("addr heap_lock %p\n", (void *)heap_lock);
	fflush(stdout);

	wl_spawn(rw_writer, NULL);
	wl_spawn(rw_reader, (void *)0);
	wl_spawn(rw_reader, (void *)1);
	wl_spawn(producer, NULL);
	wl_spawn(consumer, (void *)0);
	wl_spawn(consumer, (void *)1);
	wl_spawn(sem_poster, NULL);
	wl_spawn(sem_waiter, NULL);
	wl_spawn(pi_worker, (void *)0);
	wl_spawn(pi_worker, (void *)1);
	wl_spawn(barrier_worker, (void *)0);
	wl_spawn(barrier_worker, (void *)1);
	wl_spawn(heap_worker, (void *)0);
	wl_spawn(heap_worker, (void *)1);
	wl_spawn(stack_owner, NULL);
	wl_spawn(joiner, NULL);
	return wl_main_loop(17);
}
