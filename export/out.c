/* SPDX-License-Identifier: MIT */
/* out.c: the buffered output every sink writes to. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/export.h"

#ifndef O_DIRECT
#define O_DIRECT 0 /* never set where the system has none */
#endif

#define OUT_DEFAULT_CAP (256u << 10) /* stays in L2 when stdout is /dev/null */

int ct_out_init(struct ct_out *o, int fd, size_t cap)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->cap = cap ? cap : OUT_DEFAULT_CAP;
	o->buf = malloc(o->cap);
	if (!o->buf) {
		o->err = ENOMEM;
		return -1;
	}
	return 0;
}

/* write(2) all of p; on EINVAL under O_DIRECT (a filesystem or alignment
 * it refuses) drop O_DIRECT and go on with plain writes. 0 or an errno. */
static int write_all(int fd, const char *p, size_t n, uint64_t *bytes, int *direct)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL && *direct) {
				*direct = 0;
				int fl = fcntl(fd, F_GETFL);
				if (fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_DIRECT) == 0)
					continue;
			}
			return errno;
		}
		done += (size_t)w;
		*bytes += (uint64_t)w;
	}
	return 0;
}

/* ---------------------------------------------------- O_DIRECT output */

/*
 * Direct mode: the caller fills one of DIRECT_BUFS aligned buffers while a
 * thread writes the full ones with O_DIRECT. The output then skips the
 * kernel's copy into the page cache (most of convert's system time: 2 GB
 * of pcapng is ~1.5 s of sys through the page cache, ~0.3 s direct) and the
 * disk works while events are converted. Only whole blocks go out direct;
 * the last partial block is written plainly after O_DIRECT is dropped.
 */
#define DIRECT_ALIGN 4096
#define DIRECT_BUFS 4
#define DIRECT_CAP (4u << 20)

struct ct_out_direct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *bufs[DIRECT_BUFS];
	size_t lens[DIRECT_BUFS]; /* queued bytes of each buffer */
	unsigned cur;		  /* the buffer being filled (o->buf) */
	unsigned head;		  /* oldest queued buffer */
	unsigned queued;	  /* buffers waiting for or in write(2) */
	int stop;
	int err;    /* errno of the first failed write, sticky */
	int direct; /* O_DIRECT still set on the fd */
	uint64_t bytes;
	int fd;
};

static void *direct_writer(void *arg)
{
	struct ct_out_direct *d = arg;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->queued && !d->stop)
			pthread_cond_wait(&d->cv, &d->mu);
		if (!d->queued)
			break;
		unsigned i = d->head;
		int failed = d->err;
		int direct = d->direct;
		pthread_mutex_unlock(&d->mu);
		uint64_t bytes = 0;
		/* After a failure the rest is dropped: the output is lost anyway. */
		int err = failed ? 0 : write_all(d->fd, d->bufs[i], d->lens[i], &bytes, &direct);
		pthread_mutex_lock(&d->mu);
		if (err && !d->err)
			d->err = err;
		d->direct = direct;
		d->bytes += bytes;
		d->lens[i] = 0;
		d->head = (i + 1) % DIRECT_BUFS;
		d->queued--;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* A direct buffer, its pages mapped at once: faulting 16 MiB in page by
 * page cost more than converting a small trace (~4,000 faults). */
static char *direct_buf(void)
{
#ifdef MAP_POPULATE
	void *p = mmap(NULL, DIRECT_CAP, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
#else
	void *p;
	return posix_memalign(&p, DIRECT_ALIGN, DIRECT_CAP) ? NULL : p;
#endif
}

static void direct_free(struct ct_out_direct *d)
{
	for (unsigned i = 0; i < DIRECT_BUFS; i++) {
		if (!d->bufs[i])
			continue;
#ifdef MAP_POPULATE
		munmap(d->bufs[i], DIRECT_CAP);
#else
		free(d->bufs[i]);
#endif
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

int ct_out_direct(struct ct_out *o)
{
#if !O_DIRECT
	(void)o; /* not in POSIX: plain writes elsewhere */
	return -1;
#else
	struct stat st;

	if (o->direct || o->err || o->len > DIRECT_CAP - DIRECT_ALIGN || fstat(o->fd, &st) < 0 ||
	    !S_ISREG(st.st_mode) || lseek(o->fd, 0, SEEK_CUR) % DIRECT_ALIGN)
		return -1;
	struct ct_out_direct *d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->fd = o->fd;
	for (unsigned i = 0; i < DIRECT_BUFS; i++)
		if (!(d->bufs[i] = direct_buf())) {
			direct_free(d);
			return -1;
		}
	int fl = fcntl(o->fd, F_GETFL);
	if (fl < 0 || fcntl(o->fd, F_SETFL, fl | O_DIRECT) < 0) {
		direct_free(d); /* e.g. tmpfs before 6.6: plain writes it is */
		return -1;
	}
	d->direct = 1;
	if (pthread_create(&d->thread, NULL, direct_writer, d)) {
		fcntl(o->fd, F_SETFL, fl);
		direct_free(d);
		return -1;
	}
	memcpy(d->bufs[0], o->buf, o->len); /* what is buffered goes first */
	free(o->buf);
	o->buf = d->bufs[0];
	o->cap = DIRECT_CAP;
	o->direct = d;
	return 0;
#endif
}

void ct_out_direct_after(struct ct_out *o, uint64_t bytes)
{
	o->direct_after = bytes;
}

/* Past direct_after: write up to the next 4 KiB boundary of the file and
 * go direct with the rest buffered. Tried once; 0 direct, -1 plain. */
static int direct_now(struct ct_out *o)
{
	int direct = 0;
	size_t k = (DIRECT_ALIGN - o->bytes % DIRECT_ALIGN) % DIRECT_ALIGN;

	o->direct_after = 0;
	if (k > o->len)
		return -1;
	int err = write_all(o->fd, o->buf, k, &o->bytes, &direct);
	if (err) {
		o->err = err;
		return -1;
	}
	memmove(o->buf, o->buf + k, o->len - k);
	o->len -= k;
	return ct_out_direct(o);
}

/* Queue the whole blocks of the current buffer and carry its last partial
 * block into the next one, waiting for that one to be free. */
static int direct_submit(struct ct_out *o)
{
	struct ct_out_direct *d = o->direct;
	size_t whole = o->len / DIRECT_ALIGN * DIRECT_ALIGN;
	unsigned next = (d->cur + 1) % DIRECT_BUFS;

	pthread_mutex_lock(&d->mu);
	while (d->queued == DIRECT_BUFS - 1 && !d->err)
		pthread_cond_wait(&d->cv, &d->mu);
	int err = d->err;
	if (!err) {
		memcpy(d->bufs[next], o->buf + whole, o->len - whole);
		d->lens[d->cur] = whole;
		if (!d->queued++)
			d->head = d->cur;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	if (err) {
		o->err = err;
		return -1;
	}
	d->cur = next;
	o->buf = d->bufs[next];
	o->len -= whole;
	return 0;
}

/* Wait for the queue to drain and stop the thread; the current buffer
 * moves to a plain one and the fd leaves O_DIRECT. */
static int direct_end(struct ct_out *o)
{
	struct ct_out_direct *d = o->direct;

	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	o->bytes += d->bytes;
	if (d->err && !o->err)
		o->err = d->err;
	int fl = fcntl(o->fd, F_GETFL);
	if (fl >= 0 && (fl & O_DIRECT))
		fcntl(o->fd, F_SETFL, fl & ~O_DIRECT);
	char *plain = malloc(OUT_DEFAULT_CAP > o->len ? OUT_DEFAULT_CAP : o->len);
	if (plain)
		memcpy(plain, o->buf, o->len);
	else if (!o->err)
		o->err = ENOMEM;
	o->buf = plain;
	o->cap = plain ? (OUT_DEFAULT_CAP > o->len ? OUT_DEFAULT_CAP : o->len) : 0;
	if (!plain)
		o->len = 0;
	o->direct = NULL;
	direct_free(d);
	return o->err ? -1 : 0;
}

/* ------------------------------------------------------ plain output */

int ct_out_flush(struct ct_out *o)
{
	int direct = 0;

	if (o->fd == CT_OUT_MEMORY)
		return o->err ? -1 : 0;
	if (o->direct && direct_end(o) < 0)
		return -1;
	if (o->err)
		return -1;
	int err = write_all(o->fd, o->buf, o->len, &o->bytes, &direct);
	if (err) {
		o->err = err;
		return -1;
	}
	o->len = 0;
	return 0;
}

char *ct_out_reserve_slow(struct ct_out *o, size_t n)
{
	size_t cap = n;
	if (o->fd == CT_OUT_MEMORY) {
		/* grows, doubling: its owner takes the bytes */
		cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n;
	} else {
		if (!o->direct && o->direct_after && o->bytes + o->len >= o->direct_after &&
		    direct_now(o) == 0 && o->cap - o->len >= n)
			return o->buf + o->len;
		if (o->direct && n <= DIRECT_CAP - DIRECT_ALIGN) {
			if (direct_submit(o) < 0)
				return NULL;
			if (o->cap - o->len >= n)
				return o->buf + o->len;
		}
		if (ct_out_flush(o) < 0) /* leaves len 0 */
			return NULL;
	}
	if (o->cap - o->len < n) {
		char *p = realloc(o->buf, cap);
		if (!p) {
			o->err = ENOMEM;
			return NULL;
		}
		o->buf = p;
		o->cap = cap;
	}
	return o->buf + o->len;
}

int ct_out_finish(struct ct_out *o)
{
	int rc = ct_out_flush(o);
	ct_out_free(o);
	return rc;
}

void ct_out_free(struct ct_out *o)
{
	if (o->direct) {
		o->err = o->err ? o->err : ECANCELED; /* nothing more is written */
		struct ct_out_direct *d = o->direct;
		pthread_mutex_lock(&d->mu);
		if (!d->err)
			d->err = ECANCELED;
		pthread_mutex_unlock(&d->mu);
		direct_end(o);
	}
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}

size_t ct_u64_dec(char *d, uint64_t v)
{
	static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
				       "25262728293031323334353637383940414243444546474849"
				       "50515253545556575859606162636465666768697071727374"
				       "75767778798081828384858687888990919293949596979899";
	/* pow10[0] is 0, not 1, so that 0 counts one digit like 1..9. */
	static const uint64_t pow10[20] = {0,
					   10,
					   100,
					   1000,
					   10000,
					   100000,
					   1000000,
					   10000000,
					   100000000,
					   1000000000,
					   10000000000ull,
					   100000000000ull,
					   1000000000000ull,
					   10000000000000ull,
					   100000000000000ull,
					   1000000000000000ull,
					   10000000000000000ull,
					   100000000000000000ull,
					   1000000000000000000ull,
					   10000000000000000000ull};
	/* Digits from the bit length: 1233/4096 ~ log10(2) gives floor(log10 v)
	 * or one less; one comparison settles it. */
	unsigned t = (unsigned)((64 - __builtin_clzll(v | 1)) * 1233) >> 12;
	size_t n = t + (v >= pow10[t]);
	char *p = d + n;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		p -= 2;
		memcpy(p, pairs + 2 * r, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return n;
}

size_t ct_i64_dec(char *d, int64_t v)
{
	if (v >= 0)
		return ct_u64_dec(d, (uint64_t)v);
	d[0] = '-';
	return 1 + ct_u64_dec(d + 1, (uint64_t)0 - (uint64_t)v);
}

/* A byte in decimal: constant divisions only, for ct_ipv4_text. */
static inline char *put_u8(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		*p++ = (char)('0' + v / 10);
	} else if (v >= 10) {
		*p++ = (char)('0' + v / 10);
	}
	*p++ = (char)('0' + v % 10);
	return p;
}

size_t ct_ipv4_text(char *d, const uint8_t a[4])
{
	char *p = put_u8(d, a[0]);
	for (int i = 1; i < 4; i++) {
		*p++ = '.';
		p = put_u8(p, a[i]);
	}
	*p = '\0';
	return (size_t)(p - d);
}

/* Lower-case hex of a 16-bit group, no leading zeros. */
static char *put_hex16(char *p, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	int started = 0;
	for (int shift = 12; shift >= 0; shift -= 4) {
		unsigned x = (v >> shift) & 15;
		if (x || started || !shift) {
			*p++ = hex[x];
			started = 1;
		}
	}
	return p;
}

size_t ct_ipv6_text(char *d, const uint8_t a[16])
{
	unsigned g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	/* The first longest run of two or more zero groups becomes "::". */
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		if (g[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && !g[j])
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}
	if (best_len < 2)
		best = -1;
	char *p = d;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			i += best_len - 1;
			if (i == 7)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		/* IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) */
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && g[5] == 0xffff))) {
			p += ct_ipv4_text(p, a + 12);
			break;
		}
		p = put_hex16(p, g[i]);
	}
	*p = '\0';
	return (size_t)(p - d);
}

size_t ct_ip_text(char *d, uint16_t family, const uint8_t *a)
{
	return family == 2 ? ct_ipv4_text(d, a) : ct_ipv6_text(d, a);
}
