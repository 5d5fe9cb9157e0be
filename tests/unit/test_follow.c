/* SPDX-License-Identifier: MIT */
/*
 * test_follow: reading a file as it is written (format/follow.c) and what
 * goes with it: a finished file is read to its trailer and ends; a file
 * cut short that nobody holds ends at its last byte; one whose writer holds
 * its flock makes the reader wait at the end (stop() is asked with
 * caught_up 1, and ends it); the ring's header keys (file_seq,
 * rotate_files) round trip and are absent outside a ring; durations parse.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/ctrace.h"
#include "lib/util.h"
#include "tests/unit/check.h"
#include "tests/unit/scratch.h"
#include "tests/unit/tev.h"

/* A trace of n events in chunks of 10; rotate/seq go into the header. */
static void write_trace(const char *path, int n, uint32_t rotate, uint64_t seq)
{
	struct ct_header h = {.clock_id = 1,
			      .hostname = "h",
			      .backend = "generated",
			      .rotate_files = rotate,
			      .file_seq = seq};
	struct ct_writer_opts o = {.compress = CT_COMP_ZSTD, .chunk_events = 10};
	struct ct_writer *w;
	CHECK(ct_writer_open_file(&w, path, &h, &o) == 0);
	for (int i = 0; i < n; i++) {
		struct tev ev = {.ts_ns = 1000 + (uint64_t)i,
				 .pid = 7,
				 .tid = 7,
				 .family = 2,
				 .type = 2,
				 .proto = 17,
				 .dport = (uint16_t)(1000 + i),
				 .sockfd = 3,
				 .flags = CT_EV_RET};
		memcpy(ev.comm, "t", 1);
		CHECK(ct_writer_event(w, tev_event(&ev)) == 0);
	}
	CHECK(ct_writer_close(w) == 0);
}

static int stops, caught;
static int stop_at_edge(void *ctx, int caught_up)
{
	(void)ctx;
	stops++;
	caught += caught_up;
	return caught_up; /* end the follow once it would wait */
}

/* Events a follow of path reads; *trailer whether it saw the trailer. */
static int follow_count(const char *path, int *trailer)
{
	struct ct_reader *r;
	struct ct_follow_opts fo = {.stop = stop_at_edge, .wait_ms = 10};
	struct ct_reader_opts ro = {.quiet = 1};
	const struct ct_record *rec;
	int n = 0, rc;
	if (ct_reader_open_follow(&r, path, &ro, &fo) < 0)
		return -1;
	while ((rc = ct_reader_next(r, &rec)) > 0)
		if (rec->type == CT_REC_BATCH)
			n += (int)rec->batch->n;
	CHECK_EQ(rc, 0);
	struct ct_reader_stats st;
	ct_reader_stats(r, &st);
	*trailer = st.trailer_seen;
	ct_reader_close(r);
	return n;
}

static void copy_prefix(const char *from, const char *to, off_t len)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	CHECK(in && out);
	for (off_t i = 0; in && out && i < len; i++) {
		int c = fgetc(in);
		if (c == EOF)
			break;
		fputc(c, out);
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

int main(void)
{
	scratch_make("follow");
	const char *full = scratch_path("full.ctr");
	write_trace(full, 95, 0, 0);

	int trailer = -1;
	caught = stops = 0;
	CHECK_EQ(follow_count(full, &trailer), 95);
	CHECK_EQ(trailer, 1);
	CHECK_EQ(caught, 0); /* nobody writes it: no wait */

	/* Cut in the middle, nobody holding it: read to its end, no trailer. */
	struct stat sb;
	CHECK(stat(full, &sb) == 0);
	const char *cut = scratch_path("cut.ctr");
	copy_prefix(full, cut, sb.st_size / 2);
	int n = follow_count(cut, &trailer);
	CHECK(n > 0 && n < 95, "%d events", n);
	CHECK_EQ(trailer, 0);
	CHECK_EQ(caught, 0);

	/* The same held by a writer's flock: the follow catches up and waits
	 * (here: stop() ends it at that point). */
	int fd = open(cut, O_RDONLY);
	CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
	CHECK_EQ(follow_count(cut, &trailer), n);
	CHECK(caught >= 1, "stop() was asked %d times, caught up %d", stops, caught);
	close(fd);

	/* The ring's header keys. */
	const char *ring = scratch_path("ring.ctr.1");
	write_trace(ring, 3, 3, 4);
	struct ct_reader *r;
	CHECK(ct_reader_open_file(&r, ring, NULL) == 0);
	CHECK_EQ(ct_reader_header(r)->rotate_files, 3);
	CHECK_EQ(ct_reader_header(r)->file_seq, 4);
	ct_reader_close(r);
	CHECK(ct_reader_open_file(&r, full, NULL) == 0);
	CHECK_EQ(ct_reader_header(r)->rotate_files, 0);
	CHECK_EQ(ct_reader_header(r)->file_seq, 0);
	ct_reader_close(r);

	/* A follow of a missing file fails on open. */
	CHECK(ct_reader_open_follow(&r, scratch_path("none.ctr"), NULL, NULL) == CT_E_IO);

	/* Durations. */
	uint64_t ns;
	CHECK(ct_parse_duration("100ms", &ns) == 0 && ns == 100000000ull);
	CHECK(ct_parse_duration("1s", &ns) == 0 && ns == 1000000000ull);
	CHECK(ct_parse_duration("2", &ns) == 0 && ns == 2000000000ull);
	CHECK(ct_parse_duration("1.5s", &ns) == 0 && ns == 1500000000ull);
	CHECK(ct_parse_duration("2m", &ns) == 0 && ns == 120000000000ull);
	CHECK(ct_parse_duration("250us", &ns) == 0 && ns == 250000ull);
	CHECK(ct_parse_duration("10x", &ns) == -1);
	CHECK(ct_parse_duration("-1s", &ns) == -1);
	CHECK(ct_parse_duration("", &ns) == -1);
	CHECK(ct_parse_duration("2d", &ns) == -1);
	CHECK(ct_parse_duration("90000s", &ns) == -1); /* beyond a day */

	scratch_remove();
	return t_fails ? 1 : 0;
}
