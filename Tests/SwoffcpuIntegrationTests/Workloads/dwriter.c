/*
 * dwriter: "dwriter" does synchronous 4 KiB O_DIRECT|O_DSYNC writes to a file
 * on a real disk (-f PATH; the file is unlinked at once). Each write waits for
 * the device in uninterruptible sleep (D state). Without O_DIRECT support
 * (tmpfs) it falls back to write() + fdatasync(), which may not sleep at all:
 * the test checks the D state it sees in /proc before relying on it.
 */
#include "workload.h"
#include <fcntl.h>

static int fd;
static int direct = 1;

static void *dwriter(void *arg)
{
	void *buf;
	off_t off = 0;

	(void)arg;
	if (posix_memalign(&buf, 4096, 4096))
		wl_die("posix_memalign");
	memset(buf, 0x5a, 4096);
	wl_thread_ready("dwriter");
	for (;;) {
		if (pwrite(fd, buf, 4096, off) != 4096)
			wl_die("pwrite");
		if (!direct && fdatasync(fd))
			wl_die("fdatasync");
		off = (off + 4096) % (1 << 20);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	if (!wl_path) {
		fprintf(stderr, "dwriter: -f PATH required\n");
		return 2;
	}
	fd = open(wl_path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_DSYNC, 0600);
	if (fd < 0 && errno == EINVAL) {
		direct = 0;
		fd = open(wl_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	}
	if (fd < 0)
		wl_die("open");
	unlink(wl_path);
	printf("direct %d\n", direct);
	wl_spawn(dwriter, NULL);
	return wl_main_loop(1);
}
