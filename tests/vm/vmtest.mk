# Kernel matrix in VMs, included by the top-level Makefile (see tests/vm/README.md).
#
#   make vmtest                 the scenarios on the host kernel and, under QEMU
#                               (TCG), on Debian's 5.10, 6.1 and 6.12 kernels for
#                               x86_64 and arm64; prints the table, fails
#                               if any scenario fails on any kernel
#   make vmtest-fetch           only download the kernels and busybox (cached in
#                               build/vm/cache; later runs are offline)
#   make vmtest-arm64           only the arm64 cross build (build/arm64)
#   make vmtest-arm64-vmlinux   regenerate bpf/vmlinux/arm64/vmlinux.h from the
#                               BTF of Debian's arm64 kernel, booted under QEMU
#
# Tunables (make VAR=...): VM_X86_SUITES and VM_ARM64_SUITES (both
# "bullseye bookworm trixie"), VM_JOBS (2 VMs at once), VM_HOST (1: include
# the host row), VM_TIMEOUT (420 s per VM), VM_SMP (2), VM_MEM (1024),
# VM_SLOW (3: deadline multiplier inside the VMs), VM_VERBOSE (0),
# ARM64_CC (aarch64-linux-gnu-gcc).

VM_DIR := $(OUT)/vm
VM_X86_SUITES ?= bullseye bookworm trixie
VM_ARM64_SUITES ?= bullseye bookworm trixie
VM_JOBS ?= 2
VM_HOST ?= 1
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_OUT := $(OUT)/arm64

VM_ENV = OUT='$(OUT)' VM_DIR='$(VM_DIR)' VM_X86_SUITES='$(VM_X86_SUITES)' \
	VM_ARM64_SUITES='$(VM_ARM64_SUITES)' VM_JOBS='$(VM_JOBS)' VM_HOST='$(VM_HOST)' \
	CC='$(CC)' ARM64_CC='$(ARM64_CC)' ARM64_OUT='$(ARM64_OUT)' MAKE='$(MAKE)' \
	$(foreach v,VM_TIMEOUT VM_SMP VM_MEM VM_SLOW VM_VERBOSE,$(if $($(v)),$(v)='$($(v))'))

.PHONY: vmtest vmtest-deps vmtest-fetch vmtest-arm64 vmtest-arm64-vmlinux vmtest-clean

vmtest-deps:
	$(Q)sh tools/install-deps.sh
	$(Q)sh tests/vm/install-deps.sh

# The host build first (as `make test` does), then everything else in
# tests/vm/vmtest.sh, which prints the table whatever fails.
vmtest: vmtest-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(VM_ENV) sh tests/vm/vmtest.sh

vmtest-fetch:
	$(Q)sh tests/vm/fetch.sh $(VM_DIR)/cache $(foreach s,$(VM_X86_SUITES),$(s):amd64) \
		$(foreach s,$(VM_ARM64_SUITES),$(s):arm64) busybox:amd64 busybox:arm64

# The arm64 libevent is linked through symlinks to its runtime libraries (see
# tests/vm/install-deps.sh).
vmtest-arm64: vmtest-deps
	$(Q)mkdir -p $(ARM64_OUT)/linklibs
	$(Q)for l in event_core event_extra; do \
		ln -sf /usr/lib/aarch64-linux-gnu/lib$$l-2.1.so.7 $(ARM64_OUT)/linklibs/lib$$l.so; done
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 CC=$(ARM64_CC) OUT=$(ARM64_OUT) \
		LDFLAGS=-L$(ARM64_OUT)/linklibs all

vmtest-arm64-vmlinux:
	$(Q)sh tests/vm/arm64-vmlinux.sh $(VM_DIR) bpf/vmlinux/arm64/vmlinux.h

# Keeps the downloaded kernels and busybox.
vmtest-clean:
	rm -rf $(VM_DIR)/results $(VM_DIR)/logs $(VM_DIR)/bin-* $(VM_DIR)/initramfs-*.cpio.gz \
		$(VM_DIR)/btfdump-* $(VM_DIR)/vmlinux-arm64.btf $(ARM64_OUT)
