/* SPDX-License-Identifier: MIT */
/*
 * follow.c: following a `record --rotate N` ring from file to file.
 *
 * record names the files of its ring FILE.0 .. FILE.N-1 and writes in its
 * header how many there are and the number of each file in its recording
 * (file_seq: the file is FILE.<file_seq % N>). It makes the next file,
 * header included, before it writes the trailer of the current one
 * (record/output.c). So when a followed file has ended with its trailer,
 * either the next name of the ring holds a file of the same recording with
 * a higher file_seq (go on with it), or it does not (a file of an earlier
 * lap, or nothing): the recording is over. Nothing is waited for here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "session/follow.h"

/* FILE.<k> for the file after h's in its ring, or NULL when path is not
 * the name h's file_seq gives it. malloc'd. */
static char *next_name(const char *path, const struct ct_header *h)
{
	const char *dot = strrchr(path, '.');
	char *end;

	if (!h->rotate_files || !dot || dot[1] < '0' || dot[1] > '9')
		return NULL;
	errno = 0;
	unsigned long long k = strtoull(dot + 1, &end, 10);
	if (*end || errno || k != h->file_seq % h->rotate_files)
		return NULL;
	size_t stem = (size_t)(dot - path), size = stem + 24;
	char *next = malloc(size);
	if (next)
		snprintf(next, size, "%.*s.%llu", (int)stem, path,
			 (unsigned long long)((h->file_seq + 1) % h->rotate_files));
	return next;
}

static int same_str(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Is n a later file of h's recording? */
static int continues(const struct ct_header *h, const struct ct_header *n)
{
	return n->rotate_files == h->rotate_files && n->start_ts_ns == h->start_ts_ns &&
	       n->wall_offset_ns == h->wall_offset_ns && same_str(n->hostname, h->hostname) &&
	       n->file_seq > h->file_seq;
}

int ct_follow_next_file(struct ct_session *s, const struct ct_session_opts *opts)
{
	const struct ct_input *in = ct_session_input(s, 0);
	struct ct_reader_stats st;

	ct_reader_stats(in->reader, &st);
	if (!st.trailer_seen)
		return 0; /* its writer is gone without finishing it */
	char *next = next_name(in->path, in->hdr);
	if (!next)
		return 0;
	struct ct_reader *r;
	struct ct_reader_opts ro = {.name = next, .quiet = opts->quiet};
	struct ct_follow_opts fo = {.stop = opts->stop, .ctx = opts->stop_ctx};
	if (ct_reader_open_follow(&r, next, &ro, &fo) < 0) {
		free(next); /* none there (or unreadable): nothing follows */
		return 0;
	}
	const struct ct_header *h = in->hdr, *n = ct_reader_header(r);
	if (!continues(h, n)) {
		ct_reader_close(r);
		free(next);
		return 0;
	}
	if (n->file_seq > h->file_seq + 1 && !opts->quiet)
		ct_err("%s: %llu file(s) of the ring were replaced before they could be read", next,
		       (unsigned long long)(n->file_seq - h->file_seq - 1));
	return ct_session_swap_input(s, opts, 0, r, next) < 0 ? -1 : 1;
}
