# conntrail: one Makefile. Quiet unless V=1.
#   make            build/conntrail with record (needs clang, bpftool, libbpf)
#   make offline    build/conntrail without record (needs only libc, zlib, zstd, libpcap)
#   make test       unit, command-line and (as root) live capture tests
#   make test-vm    LSM and fentry backends in qemu guests
#   make test-reliability, make bench, make fuzz, make install PREFIX=...
#   SAN=1           build everything with ASan+UBSan (into build-san/)
#   SAN=thread      build everything with ThreadSanitizer (into build-tsan/)

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),thread)
BUILD ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS :=
endif

CC ?= cc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PREFIX ?= /usr/local
OFFLINE ?= 0
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
override CFLAGS += $(WARN) $(SANFLAGS) -std=gnu11 -D_GNU_SOURCE -I. -I$(BUILD)
override LDFLAGS += $(SANFLAGS)
# libpcap (only `convert --to pcap` uses it) is linked statically where
# libpcap.a exists: the shared one loads eight more libraries (dbus, systemd,
# gcrypt...), which was half of every command's 4 ms start-up.
PCAP_STATIC := $(filter /%,$(shell $(CC) -print-file-name=libpcap.a 2>/dev/null))
ifneq ($(PCAP_STATIC),)
PCAP_LIBS := -Wl,-Bstatic -lpcap -ldbus-1 -Wl,-Bdynamic
PCAP_OBJS := $(BUILD)/obj/cli/sd_stubs.o
else
PCAP_LIBS := -lpcap
PCAP_OBJS :=
endif
# The same for the other libraries where their .a exists: every shared
# library costs each command its mapping and relocations at start-up, which
# a selective query (a few ms in all) pays in full.
comma := ,
static_or_shared = $(if $(filter /%,$(shell $(CC) -print-file-name=lib$(1).a 2>/dev/null)),-Wl$(comma)-Bstatic -l$(1) -Wl$(comma)-Bdynamic,-l$(1))
LIBS := $(call static_or_shared,zstd) $(call static_or_shared,z) $(PCAP_LIBS) -lm -lpthread $(EXTRA_LIBS)
RECORD_LIBS := $(call static_or_shared,bpf) $(call static_or_shared,elf) $(call static_or_shared,z)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Offline code: the file layer, the session layer and every reading command.
# cmd/top.c (ncurses) goes into the main binary alone.
LIB_SRCS := $(filter-out cmd/top.c,$(wildcard format/*.c lib/*.c query/*.c session/*.c export/*.c \
	cmd/*.c cmd/report/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libconntrail.a
MAIN_OBJ := $(BUILD)/obj/cli/main.o
TOP_OBJ := $(BUILD)/obj/cmd/top.o
TOP_LIBS := $(call static_or_shared,ncurses) $(call static_or_shared,tinfo)
RECORD_SRCS := $(wildcard record/*.c)
RECORD_OBJS := $(RECORD_SRCS:%.c=$(BUILD)/obj/%.o)
STUB_OBJ := $(BUILD)/obj/cli/record_stub.o
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(BUILD)/%)

ifeq ($(OFFLINE),1)
CONNTRAIL_OBJS := $(MAIN_OBJ) $(STUB_OBJ) $(BUILD)/obj/cli/top_stub.o $(PCAP_OBJS)
CONNTRAIL_LIBS := $(LIBS)
else
CONNTRAIL_OBJS := $(MAIN_OBJ) $(TOP_OBJ) $(RECORD_OBJS) $(PCAP_OBJS)
CONNTRAIL_LIBS := $(RECORD_LIBS) $(LIBS) $(TOP_LIBS)
endif

.PHONY: check demo all offline tools test test-tsan test-unit test-vm test-reliability bench fuzz install deps \
	clean format-code static FORCE
all: $(BUILD)/conntrail tools

offline:
	$(Q)$(MAKE) --no-print-directory OFFLINE=1 $(BUILD)/conntrail tools

tools: $(TOOL_BINS) $(HELPER_BINS) $(UNIT_BINS)

# Relink when switching between the full and the offline binary.
$(BUILD)/.mode: FORCE
	@mkdir -p $(@D)
	@echo "$(OFFLINE)" | cmp -s - $@ || echo "$(OFFLINE)" > $@

$(BUILD)/conntrail: $(CONNTRAIL_OBJS) $(LIB) $(BUILD)/.mode
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CONNTRAIL_OBJS) $(LIB) $(CONNTRAIL_LIBS)

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: %.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Record's objects include the BPF skeletons.
$(RECORD_OBJS): | $(SKELS)

$(BUILD)/vmlinux.h:
	$(call msg,BTF,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) -g -O2 -mcpu=v3 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf \
		-c $< -o $@.tmp && $(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(PCAP_OBJS)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PCAP_OBJS) $(LIBS)

# test_containers compiles record/'s container name files in.
$(BUILD)/tests/test_containers: record/containers.c record/ctrjson.c record/containers.h

# Reliability helpers that read traces (tests/helpers/rel_*.c) link the library.
$(BUILD)/tests/rel_%: tests/helpers/rel_%.c $(LIB) $(PCAP_OBJS)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PCAP_OBJS) $(LIBS)

$(BUILD)/tests/%: tests/helpers/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpthread

$(BUILD)/%: tools/%.c $(LIB) $(PCAP_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PCAP_OBJS) $(LIBS)

# conntrail-gen has parts of its own in tools/gen/.
GEN_SRCS := $(wildcard tools/gen/*.c)
$(BUILD)/conntrail-gen: tools/conntrail-gen.c $(GEN_SRCS) $(wildcard tools/gen/*.h) $(LIB) $(PCAP_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(GEN_SRCS) $(LIB) $(PCAP_OBJS) $(LIBS)

test: all
	$(Q)BUILD=$(BUILD) bash tests/run.sh

# The threaded reader under ThreadSanitizer: the command-line test that
# reads at several --jobs, on smaller traces (a minute, not the suite).
test-tsan:
	$(Q)$(MAKE) --no-print-directory -j2 SAN=thread all
	$(Q)BUILD=build-tsan JOBS_TEST_SMALL=1 TSAN_OPTIONS="halt_on_error=1 $(TSAN_OPTIONS)" \
		bash tests/run.sh cli/jobs unit/test_parfmt

test-unit: tools
	$(Q)BUILD=$(BUILD) bash tests/run.sh unit

test-vm: all
	$(Q)BUILD=$(BUILD) bash tests/vm/run.sh

test-reliability: all
	$(Q)BUILD=$(BUILD) bash tests/reliability/run.sh

bench: all
	$(Q)BUILD=$(BUILD) bash bench/run.sh

FUZZ_SECONDS ?= 60
fuzz:
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

deps:
	$(Q)bash scripts/deps.sh

# Everything CI runs: the tests, again under ASan+UBSan, the reading threads
# (--jobs) under ThreadSanitizer, a short fuzz, the reliability suite and
# the guest kernels. Under the sanitizers cli/jobs reads a fifth of the
# events in as many chunks (JOBS_TEST_SMALL): the same paths, and the run
# stays under half an hour.
check:
	$(Q)$(MAKE) --no-print-directory -j2 all
	$(Q)$(MAKE) --no-print-directory test
	$(Q)$(MAKE) --no-print-directory -j2 SAN=1 all
	$(Q)JOBS_TEST_SMALL=1 $(MAKE) --no-print-directory SAN=1 test
	$(Q)$(MAKE) --no-print-directory test-tsan
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(or $(CHECK_FUZZ_SECONDS),30)
	$(Q)$(MAKE) --no-print-directory test-reliability
	$(Q)$(MAKE) --no-print-directory test-vm

# The main job on a fresh machine: build, record a short demo workload, report.
demo: all
	$(Q)bash scripts/demo.sh

# share/ (files for other programs: schemas, dissectors) goes to
# $(PREFIX)/share/conntrail/ as it is, folders kept.
install: all
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/man/man1" \
		"$(DESTDIR)$(PREFIX)/share/conntrail"
	install -m 0755 $(BUILD)/conntrail "$(DESTDIR)$(PREFIX)/bin/conntrail"
	install -m 0644 man/*.1 "$(DESTDIR)$(PREFIX)/share/man/man1/"
	cd share && find . -type f -printf '%P\n' | while read -r f; do \
		install -D -m 0644 "$$f" "$(DESTDIR)$(PREFIX)/share/conntrail/$$f" || exit 1; done
	install -D -m 0644 share/bash-completion/conntrail \
		"$(DESTDIR)$(PREFIX)/share/bash-completion/completions/conntrail"
include share/wireshark/install.mk

format-code:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-tsan

# ---- Static binaries for the qemu guests of `make test-vm` (tests/vm/): the
# guest initramfs has no shared libraries. libpcap.a pulls in libdbus-1.a,
# which wants two libsystemd calls that are never reached here; Debian ships
# no libsystemd.a, so cli/sd_stubs.c stands in for them.
STATIC_LIBS := -lbpf -lelf -lpcap -ldbus-1 -lzstd -lz -lm -lpthread
STATIC_HELPERS := $(BUILD)/static/connector $(BUILD)/static/bpf_holds $(BUILD)/static/dnspair
static: $(BUILD)/conntrail-static $(STATIC_HELPERS)

$(BUILD)/conntrail-static: $(MAIN_OBJ) $(BUILD)/obj/cli/top_stub.o $(RECORD_OBJS) $(LIB) \
		$(BUILD)/obj/cli/sd_stubs.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -static -o $@ $^ $(STATIC_LIBS) 2>$@.log || { cat $@.log >&2; exit 1; }

$(BUILD)/static/%: tests/helpers/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@ $< -lpthread

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
