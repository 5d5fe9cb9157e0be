/* SPDX-License-Identifier: MIT */
/*
 * heap.h: a binary min-heap over an array of fixed-size elements, ordered
 * by a caller's less(). Static inline, so with a constant less() the
 * compiler inlines the comparisons and the element copies. Used by the
 * reader's outcome join (batch.c), the merge of several inputs (merge.c)
 * and conntrail-gen's queue of outcomes yet to happen.
 */
#ifndef CONNTRAIL_HEAP_H
#define CONNTRAIL_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef int (*ct_heap_less)(const void *a, const void *b);

#define CT_HEAP_ELEM_MAX 128 /* the largest element a heap may hold */

static inline void ct_heap_swap(void *base, size_t size, size_t i, size_t j)
{
	unsigned char t[CT_HEAP_ELEM_MAX];
	unsigned char *a = (unsigned char *)base + i * size, *b = (unsigned char *)base + j * size;
	memcpy(t, a, size);
	memcpy(a, b, size);
	memcpy(b, t, size);
}

/* Element i may be greater than its children: move it down. */
static inline void ct_heap_down(void *base, size_t n, size_t size, size_t i, ct_heap_less less)
{
	const unsigned char *h = base;
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && less(h + l * size, h + m * size))
			m = l;
		if (l + 1 < n && less(h + (l + 1) * size, h + m * size))
			m = l + 1;
		if (m == i)
			return;
		ct_heap_swap(base, size, i, m);
		i = m;
	}
}

/* Element i may be less than its parent: move it up. */
static inline void ct_heap_up(void *base, size_t size, size_t i, ct_heap_less less)
{
	const unsigned char *h = base;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!less(h + i * size, h + p * size))
			return;
		ct_heap_swap(base, size, i, p);
		i = p;
	}
}

#endif
