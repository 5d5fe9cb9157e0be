/* SPDX-License-Identifier: MIT */
/*
 * follow.h: what session.c and follow.c share to follow a --rotate ring
 * from one file to the next.
 */
#ifndef CONNTRAIL_SESSION_FOLLOW_H
#define CONNTRAIL_SESSION_FOLLOW_H

#include "session/session.h"

/* session.c: set input i's query and columns; replace its reader with r
 * read from path (malloc'd, now the session's), closing the old one. */
int ct_session_set_query(struct ct_session *s, const struct ct_session_opts *opts, unsigned i);
int ct_session_swap_input(struct ct_session *s, const struct ct_session_opts *opts, unsigned i,
			  struct ct_reader *r, char *path);

/* follow.c: input 0 ended while followed: when it is a file of a --rotate
 * ring that its writer finished, go on with the next file of the ring.
 * 1: input 0 reads that file now; 0: the recording is over; -1: error
 * (said). */
int ct_follow_next_file(struct ct_session *s, const struct ct_session_opts *opts);

#endif
