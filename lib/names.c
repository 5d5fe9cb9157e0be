/* SPDX-License-Identifier: MIT */
/*
 * names.c: the one spelling of families, socket types, protocols, errnos
 * and RFC 3339 times, shared by the query language and every output.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/names.h"

/* The name at index i of a table (NULL in its holes), NULL past its end:
 * every number-to-name lookup below is one of these. */
#define NAME_AT(tab, i) ((size_t)(i) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[i] : NULL)

int ct_wall_bad(int64_t wall_ns)
{
	return wall_ns == INT64_MAX || wall_ns == INT64_MIN;
}

size_t ct_fmt_utc_sec(char *buf, size_t size, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	int n;
	if (!gmtime_r(&t, &tm) || tm.tm_year > 9999 - 1900 || tm.tm_year < -1900)
		n = snprintf(buf, size, "out-of-range");
	else
		n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size ? size - 1 : 0;
}

void ct_fmt_rfc3339(char *buf, size_t size, int64_t wall_ns)
{
	/* A wall time that saturated (ct_wall_ns) is not a time: said so. */
	if (ct_wall_bad(wall_ns)) {
		snprintf(buf, size, "out-of-range");
		return;
	}
	int64_t ns, sec = ct_wall_split(wall_ns, &ns);
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, size, "%lld", (long long)wall_ns);
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)ns);
}

/* Linux address families (linux/socket.h), index = family. */
static const char *const family_names[] = {
    [1] = "AF_UNIX",	  [2] = "AF_INET",	[3] = "AF_AX25",       [4] = "AF_IPX",
    [5] = "AF_APPLETALK", [6] = "AF_NETROM",	[7] = "AF_BRIDGE",     [8] = "AF_ATMPVC",
    [9] = "AF_X25",	  [10] = "AF_INET6",	[11] = "AF_ROSE",      [12] = "AF_DECnet",
    [13] = "AF_NETBEUI",  [14] = "AF_SECURITY", [15] = "AF_KEY",       [16] = "AF_NETLINK",
    [17] = "AF_PACKET",	  [18] = "AF_ASH",	[19] = "AF_ECONET",    [20] = "AF_ATMSVC",
    [21] = "AF_RDS",	  [22] = "AF_SNA",	[23] = "AF_IRDA",      [24] = "AF_PPPOX",
    [25] = "AF_WANPIPE",  [26] = "AF_LLC",	[27] = "AF_IB",	       [28] = "AF_MPLS",
    [29] = "AF_CAN",	  [30] = "AF_TIPC",	[31] = "AF_BLUETOOTH", [32] = "AF_IUCV",
    [33] = "AF_RXRPC",	  [34] = "AF_ISDN",	[35] = "AF_PHONET",    [36] = "AF_IEEE802154",
    [37] = "AF_CAIF",	  [38] = "AF_ALG",	[39] = "AF_NFC",       [40] = "AF_VSOCK",
    [41] = "AF_KCM",	  [42] = "AF_QIPCRTR",	[43] = "AF_SMC",       [44] = "AF_XDP",
    [45] = "AF_MCTP",
};

const char *ct_family_name(uint16_t family)
{
	return NAME_AT(family_names, family);
}

size_t ct_family_text(char *buf, size_t size, uint16_t family)
{
	const char *n = ct_family_name(family);
	int len = n ? snprintf(buf, size, "%s", n) : snprintf(buf, size, "AF_%u", family);
	return len < 0 ? 0 : (size_t)len < size ? (size_t)len : size - 1;
}

const char *ct_family_short(uint16_t family)
{
	static const char *const names[] = {[1] = "unix", [2] = "inet", [10] = "inet6"};
	const char *n = NAME_AT(names, family);
	return n ? n : "other";
}

const char *ct_type_name(uint16_t type)
{
	static const char *const names[] = {
	    [1] = "SOCK_STREAM",    [2] = "SOCK_DGRAM", [3] = "SOCK_RAW",     [4] = "SOCK_RDM",
	    [5] = "SOCK_SEQPACKET", [6] = "SOCK_DCCP",	[10] = "SOCK_PACKET",
	};
	return NAME_AT(names, type);
}

const char *ct_type_short(uint16_t type)
{
	static const char *const names[] = {
	    [1] = "stream",    [2] = "dgram", [3] = "raw",     [4] = "rdm",
	    [5] = "seqpacket", [6] = "dccp",  [10] = "packet",
	};
	return NAME_AT(names, type);
}

const char *ct_proto_short(uint16_t proto)
{
	static const char *const names[] = {
	    [1] = "icmp",   [6] = "tcp",       [17] = "udp",  [33] = "dccp",   [58] = "icmpv6",
	    [132] = "sctp", [136] = "udplite", [255] = "raw", [262] = "mptcp",
	};
	return NAME_AT(names, proto);
}

/* Linux errno numbers (asm-generic/errno*.h), index = errno. */
static const char *const errno_names[] = {
    NULL,
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
    NULL,
    "ENOMSG",
    "EIDRM",
    "ECHRNG",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELNRNG",
    "EUNATCH",
    "ENOCSI",
    "EL2HLT",
    "EBADE",
    "EBADR",
    "EXFULL",
    "ENOANO",
    "EBADRQC",
    "EBADSLT",
    NULL,
    "EBFONT",
    "ENOSTR",
    "ENODATA",
    "ETIME",
    "ENOSR",
    "ENONET",
    "ENOPKG",
    "EREMOTE",
    "ENOLINK",
    "EADV",
    "ESRMNT",
    "ECOMM",
    "EPROTO",
    "EMULTIHOP",
    "EDOTDOT",
    "EBADMSG",
    "EOVERFLOW",
    "ENOTUNIQ",
    "EBADFD",
    "EREMCHG",
    "ELIBACC",
    "ELIBBAD",
    "ELIBSCN",
    "ELIBMAX",
    "ELIBEXEC",
    "EILSEQ",
    "ERESTART",
    "ESTRPIPE",
    "EUSERS",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "EOPNOTSUPP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EALREADY",
    "EINPROGRESS",
    "ESTALE",
    "EUCLEAN",
    "ENOTNAM",
    "ENAVAIL",
    "EISNAM",
    "EREMOTEIO",
    "EDQUOT",
    "ENOMEDIUM",
    "EMEDIUMTYPE",
    "ECANCELED",
    "ENOKEY",
    "EKEYEXPIRED",
    "EKEYREVOKED",
    "EKEYREJECTED",
    "EOWNERDEAD",
    "ENOTRECOVERABLE",
    "ERFKILL",
    "EHWPOISON",
};
#define N_ERRNO (int)(sizeof(errno_names) / sizeof(errno_names[0]))

const char *ct_errno_name(int err)
{
	if (err == INT_MIN) /* a hostile ret: -INT_MIN does not exist */
		return NULL;
	if (err < 0)
		err = -err;
	return NAME_AT(errno_names, err);
}

int ct_errno_from_name(const char *name)
{
	static const struct {
		const char *name;
		int err;
	} aliases[] = {{"EWOULDBLOCK", 11}, {"EDEADLOCK", 35}, {"ENOTSUP", 95}};

	if (!name)
		return -1;
	for (int i = 1; i < N_ERRNO; i++)
		if (errno_names[i] && !strcasecmp(errno_names[i], name))
			return i;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcasecmp(aliases[i].name, name))
			return aliases[i].err;
	return -1;
}

const char *ct_signal_name(int sig)
{
	static const char *const names[] = {
	    NULL,	"SIGHUP",  "SIGINT",	"SIGQUIT", "SIGILL",  "SIGTRAP",   "SIGABRT",
	    "SIGBUS",	"SIGFPE",  "SIGKILL",	"SIGUSR1", "SIGSEGV", "SIGUSR2",   "SIGPIPE",
	    "SIGALRM",	"SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP",   "SIGTSTP",
	    "SIGTTIN",	"SIGTTOU", "SIGURG",	"SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
	    "SIGWINCH", "SIGIO",   "SIGPWR",	"SIGSYS"};
	return sig > 0 ? NAME_AT(names, sig) : NULL;
}

size_t ct_fmt_wait_status(char *buf, size_t size, int32_t status)
{
	/* Decoded by hand: the status comes from another machine's kernel,
	 * in Linux's layout, whatever this libc's macros say. */
	unsigned st = (unsigned)status, sig = st & 0x7f;
	int n;
	if (sig == 0) {
		n = snprintf(buf, size, "exit %u", (st >> 8) & 0xff);
	} else {
		const char *name = ct_signal_name((int)sig);
		const char *core = st & 0x80 ? " (core dumped)" : "";
		n = name ? snprintf(buf, size, "killed by %s%s", name, core)
			 : snprintf(buf, size, "killed by signal %u%s", sig, core);
	}
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size ? size - 1 : 0;
}
