/* spinner: one thread, "spin", in a pure CPU loop (no system calls). */
#include "workload.h"

int main(int argc, char **argv)
{
	wl_parse(argc, argv);
	wl_spawn(wl_spin, NULL);
	return wl_main_loop(1);
}
