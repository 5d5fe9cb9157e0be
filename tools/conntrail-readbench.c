/* SPDX-License-Identifier: MIT */
/*
 * conntrail-readbench: how fast the reader decodes a trace. Reads FILE
 * sequentially (through the index, every chunk) REPEAT times and prints
 * events/s and MB/s of CPU time; with --stream, through read(2) only.
 * A measurement tool, not a test: nothing here can fail on a slow machine.
 *
 *   conntrail-readbench [--stream] [--repeat N] FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format/ctrace.h"

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int stream = 0, repeat = 3;
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--stream"))
			stream = 1;
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else
			path = argv[i];
	}
	if (!path || repeat < 1) {
		fprintf(stderr, "usage: conntrail-readbench [--stream] [--repeat N] FILE\n");
		return 2;
	}
	double best = 0;
	uint64_t events = 0, bytes = 0;
	for (int k = 0; k < repeat; k++) {
		struct ct_reader *r;
		int err = stream ? 0 : ct_reader_open_file(&r, path, NULL);
		if (stream) {
			/* Force the sequential path even on a regular file. */
			if (!freopen(path, "rb", stdin)) {
				perror(path);
				return 1;
			}
			err = ct_reader_open_file(&r, "-", NULL);
		}
		if (err) {
			fprintf(stderr, "%s: %s\n", path, ct_strerror(err));
			return 1;
		}
		const struct ct_record *rec;
		uint64_t n = 0, check = 0;
		double t0 = cpu_s();
		int rc;
		while ((rc = ct_reader_next_event(r, &rec)) == 1) {
			n += rec->type == CT_REC_EVENT;
			if (rec->type == CT_REC_EVENT)
				check += rec->ev.dest->dport; /* touch the record */
		}
		double t = cpu_s() - t0;
		struct ct_reader_stats st;
		ct_reader_stats(r, &st);
		ct_reader_close(r);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", path, ct_strerror(rc));
			return 1;
		}
		events = n;
		bytes = st.bytes_read;
		double rate = t > 0 ? (double)n / t : 0;
		if (rate > best)
			best = rate;
		fprintf(stderr, "run %d: %llu events in %.3f s CPU (check %llu)\n", k + 1,
			(unsigned long long)n, t, (unsigned long long)check);
	}
	printf("%s: %llu events, %llu bytes read, best %.1f M events/s (%s)\n", path,
	       (unsigned long long)events, (unsigned long long)bytes, best / 1e6,
	       stream ? "stream" : "indexed");
	return 0;
}
