/* SPDX-License-Identifier: MIT */
/*
 * sd_stubs.c: linked wherever libpcap is linked statically (build/conntrail
 * when libpcap.a exists, and build/conntrail-static for the qemu guests).
 * libpcap.a -> libdbus-1.a refers to these two libsystemd calls for socket
 * activation, which conntrail never uses; Debian has no libsystemd.a.
 */
int sd_listen_fds(int unset_environment);
int sd_is_socket(int fd, int family, int type, int listening);

int sd_listen_fds(int unset_environment)
{
	(void)unset_environment;
	return 0; /* no sockets passed */
}

int sd_is_socket(int fd, int family, int type, int listening)
{
	(void)fd;
	(void)family;
	(void)type;
	(void)listening;
	return 0; /* not a socket of that kind */
}
