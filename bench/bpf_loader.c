/* SPDX-License-Identifier: MIT */
/*
 * bpf_loader: load a BPF object, attach every program, print "ready" on
 * stdout, and keep them attached until SIGINT or SIGTERM. bench/run.sh uses
 * it for the "empty BPF program" floor of P1/P6 and for the cgroup
 * sock_addr measurement of P6b.
 *
 *   bpf_loader OBJECT.bpf.o [CGROUP_DIR]
 *
 * Programs are attached by their section name, except cgroup programs,
 * which go on CGROUP_DIR (a cgroup v2 directory). A ring buffer map named
 * "events" is drained as record drains its own (polled every 100 ms, woken
 * only when the programs ask), and "records=N" is printed on exit.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static unsigned long long records;

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

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	records++;
	return 0;
}

static int is_cgroup_prog(const struct bpf_program *prog)
{
	switch (bpf_program__type(prog)) {
	case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
	case BPF_PROG_TYPE_CGROUP_SOCK:
	case BPF_PROG_TYPE_CGROUP_SKB:
		return 1;
	default:
		return 0;
	}
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: bpf_loader OBJECT.bpf.o [CGROUP_DIR]\n");
		return 2;
	}
	libbpf_set_print(quiet_print);

	struct bpf_link *links[16];
	struct ring_buffer *rb = NULL;
	int nlinks = 0, rc = 1, cgfd = -1;
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
		if (is_cgroup_prog(prog)) {
			if (cgfd < 0 && argc == 3)
				cgfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (cgfd < 0) {
				fprintf(stderr, "bpf_loader: %s: no cgroup directory for %s\n",
					argv[1], bpf_program__name(prog));
				goto out;
			}
			links[nlinks] = bpf_program__attach_cgroup(prog, cgfd);
		} else {
			links[nlinks] = bpf_program__attach(prog);
		}
		if (!links[nlinks]) {
			fprintf(stderr, "bpf_loader: %s: cannot attach %s: %s\n", argv[1],
				bpf_program__name(prog), strerror(errno));
			goto out;
		}
		nlinks++;
	}
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");
	if (events && bpf_map__type(events) == BPF_MAP_TYPE_RINGBUF) {
		rb = ring_buffer__new(bpf_map__fd(events), on_record, NULL, NULL);
		if (!rb) {
			fprintf(stderr, "bpf_loader: %s: cannot open the ring buffer\n", argv[1]);
			goto out;
		}
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready %d programs\n", nlinks);
	fflush(stdout);
	while (!stop) {
		if (rb)
			ring_buffer__poll(rb, 100);
		else
			pause();
	}
	if (rb) {
		ring_buffer__consume(rb);
		printf("records=%llu\n", records);
	}
	rc = 0;
out:
	ring_buffer__free(rb);
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
	if (cgfd >= 0)
		close(cgfd);
	bpf_object__close(obj);
	return rc;
}
