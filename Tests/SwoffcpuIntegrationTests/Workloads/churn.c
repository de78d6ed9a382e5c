/*
 * churn: "churner" creates a short-lived thread, joins it (a futex wait on
 * the child's TID word), and again, forever. Each child names itself "child",
 * burns -n MICROSECONDS of CPU (default 50) and returns. The children are born
 * and exit inside the trace window.
 *
 * With -f PATH, the file (mapped shared) logs the children for the test, as
 * native integers: a uint64 count of children created so far, then one uint32
 * TID per child in creation order (slot i written by child i itself, before
 * it does anything else; wraps after CHURN_SLOTS children).
 */
#include "workload.h"
#include <fcntl.h>
#include <sys/mman.h>

#define CHURN_SLOTS (1 << 20)

static struct churn_log {
	uint64_t created;
	uint32_t tid[CHURN_SLOTS];
} local_log, *log_ = &local_log;

static void *child(void *arg)
{
	uint64_t i = (uint64_t)(uintptr_t)arg;

	__atomic_store_n(&log_->tid[i % CHURN_SLOTS], (uint32_t)gettid(), __ATOMIC_RELAXED);
	pthread_setname_np(pthread_self(), "child");
	wl_burn_ns((uint64_t)wl_count * 1000);
	return NULL;
}

static void *churner(void *arg)
{
	(void)arg;
	wl_thread_ready("churner");
	for (uint64_t i = 0;; i++) {
		pthread_t t;
		int err = pthread_create(&t, NULL, child, (void *)(uintptr_t)i);
		if (err) {
			errno = err;
			wl_die("pthread_create");
		}
		__atomic_store_n(&log_->created, i + 1, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	wl_count = 50;
	wl_parse(argc, argv);
	if (wl_path) {
		int fd = open(wl_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, sizeof(struct churn_log)))
			wl_die("log file");
		void *m = mmap(NULL, sizeof(struct churn_log), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			wl_die("mmap");
		log_ = m;
		close(fd);
	}
	wl_spawn(churner, NULL);
	return wl_main_loop(1);
}
