/* SPDX-License-Identifier: MIT */
/*
 * bpf_loader: load a BPF object, attach every program by its section name,
 * print "ready" on stdout, and keep them attached until SIGINT or SIGTERM.
 * bench/run.sh uses it for the "empty BPF program" configuration of P1.
 *
 *   bpf_loader OBJECT.bpf.o
 */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bpf_loader OBJECT.bpf.o\n");
		return 2;
	}
	libbpf_set_print(quiet_print);

	struct bpf_link *links[16];
	int nlinks = 0, rc = 1;
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "bpf_loader: %s: cannot open\n", argv[1]);
		return 1;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "bpf_loader: %s: load failed\n", argv[1]);
		goto out;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj)
	{
		if (nlinks == (int)(sizeof(links) / sizeof(links[0])))
			break;
		links[nlinks] = bpf_program__attach(prog);
		if (!links[nlinks]) {
			fprintf(stderr, "bpf_loader: %s: cannot attach %s\n", argv[1],
				bpf_program__name(prog));
			goto out;
		}
		nlinks++;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready %d programs\n", nlinks);
	fflush(stdout);
	while (!stop)
		pause();
	rc = 0;
out:
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
	bpf_object__close(obj);
	return rc;
}
