# minerwatch build. Everything is built under build/; `make V=1` shows commands.
#
#   make              daemon, CLI and test tools
#   make run          install missing build dependencies, build, run the sensor
#   make test         install missing build/test dependencies, build, run all tests
#   make install DESTDIR=D PREFIX=/usr

VERSION := 0.1.0
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=

OUT := build
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PYTHON ?= /usr/bin/python3

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:

# vmlinux.h is generated from a kernel's BTF and checked in per architecture
# (see README: reproducible builds, no BTF needed on the build machine).
VMLINUX_DIR := bpf/vmlinux/$(ARCH)
BPF_SRCS := bpf/maps.bpf.c bpf/proc.bpf.c bpf/cpu.bpf.c bpf/net.bpf.c
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h)
SKEL := $(OUT)/bpf/minerwatch.skel.h

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(VMLINUX_DIR) -Ibpf

# Truncation by snprintf is how strings are bounded here, so it is not a warning.
WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wno-unused-parameter -Wno-format-truncation
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) \
	-DMW_VERSION='"$(VERSION)"' -Ibpf -I$(OUT)/bpf \
	-Iuser/common -Iuser/sensor -Iuser/detect -Iuser/context -Iuser/report -Iuser/daemon
LDHARDEN := -pie -Wl,-z,relro,-z,now
LDFLAGS ?=
# libbpf is linked statically: the daemon then does not depend on the
# distribution's libbpf version, only on libelf and zlib.
BPF_LIBS := -Wl,-Bstatic -lbpf -Wl,-Bdynamic -lelf -lz
# libevent (evhttp) is the HTTP client for IMDS and the ECS agent, nettle the
# SHA-256: libcurl and OpenSSL cost the daemon some 6 MiB of RSS between them.
LIBS := -ljson-c -linih -levent_extra -levent_core -lnettle -lpthread -lm

COMMON_SRCS := $(wildcard user/common/*.c)
LIB_SRCS := $(COMMON_SRCS) $(wildcard user/sensor/*.c user/detect/*.c user/context/*.c user/report/*.c) \
	$(filter-out user/daemon/main.c,$(wildcard user/daemon/*.c))
LIB_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(LIB_SRCS))
DAEMON_OBJS := $(LIB_OBJS) $(OUT)/obj/user/daemon/main.o
CLI_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard user/cli/*.c) $(COMMON_SRCS))

# Load generators and simulators (plain C); hookcost and hookfloor also carry BPF.
# tools/common is the library they share, compiled into each of them.
TOOLS := poolsim minersim cpuburn tcprelay apipoll heartbeat bulkserve dnsq imdssim ecssim \
	storm holder noop
TOOL_BINS := $(addprefix $(OUT)/tools/,$(TOOLS))
TOOL_COMMON_SRCS := $(wildcard tools/common/*.c)
TOOL_COMMON_HDRS := $(wildcard tools/common/*.h)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))

.PHONY: all deps run test unit integration install clean bench
all: $(OUT)/minerwatchd $(OUT)/minerwatch $(TOOL_BINS)

deps:
	$(Q)sh tools/install-deps.sh

# --- BPF ---------------------------------------------------------------------
$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bpf/minerwatch.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUT)/bpf/minerwatch.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name minerwatch_bpf > $@

# --- user space --------------------------------------------------------------
$(OUT)/obj/%.o: %.c $(SKEL) $(wildcard user/*/*.h) $(BPF_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/minerwatchd: $(DAEMON_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDHARDEN) $(LDFLAGS) $^ $(BPF_LIBS) $(LIBS) -o $@

$(OUT)/minerwatch: $(CLI_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDHARDEN) $(LDFLAGS) $^ -ljson-c -o $@

# hookcost links the real sampler (bpf/cpu.bpf.c) beside a sched_switch
# accountant so that benchmarks compare the two on equal terms.
$(OUT)/tools/switch.bpf.o: tools/hookcost/switch.bpf.c | $(OUT)/tools
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/tools/hookcost.skel.h: $(OUT)/tools/switch.bpf.o $(OUT)/bpf/maps.bpf.o $(OUT)/bpf/cpu.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen object $(OUT)/tools/hookcost.bpf.o $^
	$(Q)$(BPFTOOL) gen skeleton $(OUT)/tools/hookcost.bpf.o name hookcost_bpf > $@

$(OUT)/tools/hookcost: tools/hookcost/hookcost.c $(OUT)/tools/hookcost.skel.h \
		tools/common/cpusampler.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -I$(OUT)/tools -Itools/common $< $(BPF_LIBS) -o $@

# hookfloor holds minerwatch's hooks with empty programs: the benchmarks'
# measure of what the hooks themselves cost.
$(OUT)/tools/hookfloor.bpf.o: tools/hookfloor/floor.bpf.c | $(OUT)/tools
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/tools/hookfloor.skel.h: $(OUT)/tools/hookfloor.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name hookfloor_bpf > $@

$(OUT)/tools/hookfloor: tools/hookfloor/hookfloor.c $(OUT)/tools/hookfloor.skel.h \
		tools/common/cpusampler.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -I$(OUT)/tools -Itools/common $< $(BPF_LIBS) -o $@

# noop is what the exec storm runs thousands of times a second: static, no libc
# and no dynamic loader, so that an exec costs the kernel's part and little more.
# Hence its own rule; the pattern rule below would link libc.
$(OUT)/tools/noop: tools/noop/noop.c | $(OUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 $(WARN) $(filter -Wno-unknown-warning-option,$(CFLAGS)) -static \
		-nostdlib -O2 -fno-stack-protector $< -o $@

$(OUT)/tools/%: tools/%/*.c $(TOOL_COMMON_SRCS) $(TOOL_COMMON_HDRS) | $(OUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Itools/common $(filter %.c,$^) \
		-o $@ -lpthread -ljson-c -lssl -lcrypto

$(OUT)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $< $(LIB_OBJS) $(BPF_LIBS) -lssl -lcrypto $(LIBS) -lcmocka -o $@

$(OUT)/bpf $(OUT)/tools $(OUT)/tests:
	$(Q)mkdir -p $@

# --- running and testing -----------------------------------------------------
# Runs from the work tree: the shipped pool-name list, findings on stdout.
run: deps all
	$(Q)printf 'pool_names_file = %s\n' "$(CURDIR)/deploy/pool-names.txt" > $(OUT)/run.conf
	$(OUT)/minerwatchd --config $(OUT)/run.conf --output - \
		--socket $(OUT)/run/minerwatch.sock --state-dir $(OUT)/state

unit: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: all
	$(Q)$(PYTHON) -m pytest -v tests/integration

test: deps all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration

# The benchmark suite (tools/bench/): writes BENCHMARKS.md and docs/bench/*.png.
# MW_BENCH_ONLY=SECTIONS runs a subset into build/bench/ (see tools/bench/run.py).
bench: deps all $(OUT)/tools/hookcost $(OUT)/tools/hookfloor
	$(PYTHON) tools/bench/run.py

# Packages (deploy/packaging.mk) and the container image (deploy/image.mk).
-include deploy/packaging.mk
-include deploy/image.mk
# Kernel matrix in VMs (tests/vm/vmtest.mk) and fuzzing (tests/fuzz/fuzz.mk).
-include tests/vm/vmtest.mk
-include tests/fuzz/fuzz.mk

# --- install -----------------------------------------------------------------
install: all
	install -D -m 0755 $(OUT)/minerwatchd $(DESTDIR)$(PREFIX)/sbin/minerwatchd
	install -D -m 0755 $(OUT)/minerwatch $(DESTDIR)$(PREFIX)/bin/minerwatch
	install -D -m 0644 deploy/man/minerwatchd.8 $(DESTDIR)$(PREFIX)/share/man/man8/minerwatchd.8
	install -D -m 0644 deploy/man/minerwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/minerwatch.8
	install -D -m 0644 deploy/minerwatch.conf $(DESTDIR)$(SYSCONFDIR)/minerwatch/minerwatch.conf
	install -D -m 0644 deploy/pool-names.txt $(DESTDIR)$(SYSCONFDIR)/minerwatch/pool-names.txt
	install -D -m 0644 deploy/suppress.conf $(DESTDIR)$(SYSCONFDIR)/minerwatch/suppress.conf
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@SBINDIR@|$(PREFIX)/sbin|' deploy/systemd/minerwatchd.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/minerwatchd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/minerwatchd.service

clean:
	rm -rf $(OUT)
