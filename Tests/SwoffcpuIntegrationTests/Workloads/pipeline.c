/*
 * A three-stage pipeline whose answer is known by construction: "stage-src" makes items
 * (20 us of CPU each) into a bounded queue, "stage-slow" takes each, burns 500 us of CPU
 * and passes it on through a second queue, "stage-sink" takes them (20 us each). Queues
 * are a mutex and two condition variables each, 4 items deep.
 *
 * The slow stage is the bottleneck: the source waits for room in the first queue and the
 * sink for items in the second, both woken by the slow stage, which itself almost never
 * waits. The sink's wall time is mostly the slow stage's on-CPU time (its critical path),
 * and the wait-for graph's knot is the slow stage alone.
 */
#include "workload.h"
#include <sys/resource.h>

/* Each thread runs at nice -20 where it may (root): on a busy machine the stages' waits
 * for one another, not for a CPU, are what the test is about. */
static void high_priority(void)
{
	setpriority(PRIO_PROCESS, 0, -20);
}

#define DEPTH 4

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	int items;
};

static struct queue q1 = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
static struct queue q2 = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void put(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->items >= DEPTH)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->items++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

static void take(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->items == 0)
		pthread_cond_wait(&q->not_empty, &q->lock);
	q->items--;
	pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->lock);
}

static void *source(void *arg)
{
	(void)arg;
	high_priority();
	wl_thread_ready("stage-src");
	for (;;) {
		wl_burn_cpu_ns(20000);
		put(&q1);
	}
	return NULL;
}

static void *slow(void *arg)
{
	(void)arg;
	high_priority();
	wl_thread_ready("stage-slow");
	for (;;) {
		take(&q1);
		wl_burn_cpu_ns(500000);
		put(&q2);
	}
	return NULL;
}

static void *sink(void *arg)
{
	(void)arg;
	high_priority();
	wl_thread_ready("stage-sink");
	for (;;) {
		take(&q2);
		wl_burn_cpu_ns(20000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	wl_spawn(sink, NULL);
	wl_spawn(slow, NULL);
	wl_spawn(source, NULL);
	return wl_main_loop(3);
}
