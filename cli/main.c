/* SPDX-License-Identifier: MIT */
/* main.c: conntrail's entry point; dispatches to cmd_<name> (perf/git style). */
#include <stdio.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli/cli.h"

static const struct ct_cmd commands[] = {
    {"record", cmd_record, "Record connect attempts into a trace file (root)"},
    {"report", cmd_report, "Summarise a trace: who connected where, how it ended"},
    {"script", cmd_script, "Print the events of a trace, one a line"},
    {"convert", cmd_convert, "Export a trace to pcapng, pcap, CSV, JSON lines, Tracee JSON"},
    {"info", cmd_info, "Describe trace files: header, chunks, counts, damage"},
    {"top", cmd_top, "Watch connects as they are recorded: rates, top destinations"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [--version] [--help] COMMAND [ARGS]\n\nCommands:\n", ct_progname);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s  %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nSee '%s COMMAND --help' for one command's options.\n", ct_progname);
}

/*
 * glibc returns a freed block of 128 KiB or more to the kernel at once, and
 * raises that bound only after such a free: a reader that decodes chunk
 * after chunk into blocks of a few MiB then faults every page in again,
 * each time (at --jobs 2 on 30 M events, 18,000 faults, or 42,000, against
 * 2,800, by where the first large free happened to come). Blocks below
 * 32 MiB come from the heap, and up to 64 MiB of free heap stays.
 */
static void keep_freed_memory(void)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

int main(int argc, char **argv)
{
	keep_freed_memory();
	if (argc < 2) {
		usage(stderr);
		return CT_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return CT_EXIT_OK;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("conntrail %s\n", CONNTRAIL_VERSION);
		return CT_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(name, commands[i].name)) {
			ct_set_cmd(commands[i].name);
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "%s: '%s' is not a command; see '%s --help'\n", ct_progname, name,
		ct_progname);
	return CT_EXIT_USAGE;
}
