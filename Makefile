# SPDX-License-Identifier: GPL-2.0-only
#
# vfio-range: build the module, its tests and demo, and run them in a QEMU
# guest. The kernel build itself is described by Kbuild.
#
#   make run      install what is missing, build, boot the guest, run the demo
#   make check    install what is missing, build, run every test in the guest
#   make check-debug  the same suite and the KUnit tests on a debug kernel
#                 (KASAN, lockdep, kmemleak; built once, cached outside),
#                 with positive controls of kmemleak and lockdep;
#                 PLANT=leak or PLANT=lockdep plants that bug in the suite's
#                 run, which must then fail
#   make modules  build the module for KVER (default: the guest kernel)
#   make install  install the module for KVER (depmod), the uapi header and a
#                 modprobe.d snippet
#   make dkms-check  build and install through DKMS for every kernel of
#                 KERNELS, then remove it again (run by make check)
#   make lint     checkpatch --strict, sparse, kernel-doc, coccicheck (run by
#                 make check)
#   make bench    boot the guest once per kernel of KERNELS, run every
#                 benchmark workload on vfio_iommu_type1 and on this module,
#                 print the tables and write them to build/bench/results.txt
#
# Variables: KERNELS (the guest kernel series make check runs on: default
# "6.1 6.12"; e.g. KERNELS=6.1 for one), IOMMUS (the guest IOMMUs it runs
# them with: default "vtd vtd48 amd virtio vtd2m", e.g. IOMMUS=amd), KVER
# (one kernel release), KDIR
# (its build tree), VMLINUX (the kernel image whose BTF is the base of
# vfio.ko's; /sys/kernel/btf/vmlinux on a running host).

TOP := $(abspath $(dir $(firstword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
SETUP := $(TOP)/tools/testing/vm/setup.sh
VM_RUN := $(TOP)/tools/testing/vm/run.sh

KERNELS ?= 6.1 6.12
IOMMUS ?= vtd vtd48 amd virtio vtd2m
KVER ?= $(shell $(SETUP) --kver 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build
VMLINUX ?= $(BUILD)/vmlinux-$(KVER)
VFIO_KO ?= $(firstword $(wildcard /lib/modules/$(KVER)/kernel/drivers/vfio/vfio.ko*))

MODDIR := $(BUILD)/$(KVER)
MODSRC := $(MODDIR)/src
MODULE := $(MODDIR)/vfio_iommu_range.ko
TEST_MODULE := $(MODDIR)/vfio_range_test.ko
MODULE_SOURCES := Kbuild $(shell find drivers include -name '*.[ch]' 2>/dev/null)

SELFTEST_DIR := tools/testing/selftests/vfio_range
SELFTEST_OUT := $(BUILD)/selftests
DEMO := $(BUILD)/demo/vfio-range-demo

.PHONY: all modules selftests demo deps run check clean lint install \
	dkms-check bench check-debug \
	_run _check _dpdk _lint _bench _lockdep_control

all: modules

deps:
	@$(SETUP) >/dev/null

# The BTF base of the target kernel's modules, for the layout check.
$(BUILD)/vmlinux-%:
	@mkdir -p $(BUILD)
	$(TOP)/tools/build/vmlinux-elf.sh /boot/vmlinuz-$* $@

# Kbuild writes objects next to the sources, so each kernel gets its own
# copy of the tree: several kernels can be built side by side.
$(MODULE): $(MODULE_SOURCES) | $(VMLINUX)
	@test -n "$(KVER)" -a -d "$(KDIR)" || \
		{ echo "no kernel build tree for KVER='$(KVER)' (KDIR=$(KDIR))" >&2; exit 1; }
	@mkdir -p $(MODSRC)
	@cp -a --parents $(MODULE_SOURCES) $(MODSRC)/
	$(MAKE) -C $(KDIR) M=$(MODSRC) W=1 KCFLAGS=-Werror modules
	@rm -f $@
	$(TOP)/tools/build/check-vfio-layout.sh \
		$(MODSRC)/drivers/vfio_range/module.o $(VFIO_KO) $(VMLINUX)
	cp $(MODSRC)/vfio_range_test.ko $(TEST_MODULE)
	@if [ -f $(MODSRC)/vfio_range_kunit.ko ]; then \
		cp $(MODSRC)/vfio_range_kunit.ko $(MODDIR)/; fi
	cp $(MODSRC)/vfio_iommu_range.ko $@

modules: $(MODULE)

selftests:
	$(MAKE) -C $(SELFTEST_DIR) OUTPUT=$(SELFTEST_OUT) \
		KSFT_DIR=$(BUILD)/src-6.1/tools/testing/selftests

demo:
	$(MAKE) -C tools/demo OUTPUT=$(dir $(DEMO))

# The guest kernel is only known once setup.sh installed it.
run: deps
	@$(MAKE) --no-print-directory _run KVER=$$($(SETUP) --kver)

# Lint once, then the suite on every configuration of the matrix: each
# kernel of KERNELS with each IOMMU of IOMMUS (vtd48 and vtd2m on the last
# kernel only, virtio not on 6.1, which has no virtio_iommu), then DPDK's
# testpmd (_dpdk, below). Every run ends in a line of its own; the closing
# line adds them up.
check:
	@$(SETUP) $(KERNELS) >/dev/null
	@rm -f $(BUILD)/vm/summary-*; mkdir -p $(BUILD)/vm; \
		date +%s > $(BUILD)/vm/check-start
	@$(MAKE) --no-print-directory _lint KVER=$$($(SETUP) --kver) || \
		echo "0 passed, 1 failed, 0 skipped" > $(BUILD)/vm/summary-lint
	@tools/build/dkms-check.sh $$($(SETUP) $(KERNELS)) || \
		echo "0 passed, 1 failed, 0 skipped" > $(BUILD)/vm/summary-dkms
	@start=$$(cat $(BUILD)/vm/check-start); rc=0; n=0; \
	for gate in lint dkms; do \
		[ ! -e $(BUILD)/vm/summary-$$gate ] || rc=1; \
	done; \
	last=$(lastword $(KERNELS)); \
	for series in $(KERNELS); do \
		kver=$$($(SETUP) --kver $$series); \
		for iommu in $(IOMMUS); do \
			case $$iommu/$$series in \
			virtio/6.1) continue ;; \
			vtd48/$$last | vtd2m/$$last) ;; \
			vtd48/* | vtd2m/*) continue ;; \
			esac; \
			n=$$((n + 1)); \
			$(MAKE) --no-print-directory _check KVER=$$kver \
				CHECK_IOMMU=$$iommu || rc=1; \
		done; \
	done; \
	if [ -n "$(DPDK_CHECK)" ]; then \
		n=$$((n + 1)); \
		$(MAKE) --no-print-directory _dpdk \
			KVER=$$($(SETUP) --kver $(DPDK_KERNEL)) || rc=1; \
	fi; \
	echo "check: lint, dkms and $$n guest runs in $$(( ($$(date +%s) - start + 30) / 60 )) min"; \
	cat $(BUILD)/vm/summary-* | awk -F'[ ,]+' \
		'{ p += $$1; f += $$3; s += $$5 } END { print p " passed, " f " failed, " s " skipped" }'; \
	exit $$rc

lint: deps
	@$(MAKE) --no-print-directory _lint KVER=$$($(SETUP) --kver)

KERNEL_SOURCES := $(wildcard drivers/vfio_range/*.[ch] include/vfio_range/*.h) \
	include/linux/vfio_range.h include/uapi/linux/vfio_range.h
KSRC := $(BUILD)/src-6.1

# Each gate fails the run; W=1 with -Werror is part of every module build.
_lint: modules
	@echo "lint: checkpatch --strict (.checkpatch.conf)"
	@perl $(KSRC)/scripts/checkpatch.pl --terse -f $(KERNEL_SOURCES) | \
		grep -v '^total: 0 errors, 0 warnings, 0 checks' | \
		{ ! grep . ; }
	@echo "lint: kernel-doc"
	@out=$$(perl $(KSRC)/scripts/kernel-doc -none $(KERNEL_SOURCES) 2>&1); \
		[ -z "$$out" ] || { echo "$$out"; false; }
	@echo "lint: kernel version tests only in the compat headers"
	@! grep -n LINUX_VERSION_CODE $(filter-out %/compat.h %/vfio_core.h,$(KERNEL_SOURCES))
	@echo "lint: sparse (C=2)"
	@out=$$($(MAKE) -s -C $(KDIR) M=$(MODSRC) C=2 CHECK=sparse modules 2>&1 | \
		grep -E 'warning|error' | grep -v 'Skipping BTF'); \
		[ -z "$$out" ] || { echo "$$out"; false; }
	@echo "lint: coccicheck"
	@tools/build/coccicheck.sh $(KSRC) drivers/vfio_range
	@echo "lint: clean"

# The demo compares type1 with this module at the top of a 64-bit IOVA
# space, which VT-d lacks: AMD-Vi (RUN_IOMMU=intel shows the rest).
RUN_IOMMU ?= amd

_run: modules demo
	@$(VM_RUN) --kver $(KVER) --iommu $(RUN_IOMMU) --edu 1 \
		--out $(BUILD)/vm/run -- \
		'modprobe vfio_iommu_type1 && insmod $(MODULE) && $(DEMO)'

GUEST_TESTS ?= tools/testing/run-guest-tests.sh

# mtty, the kernel's sample mdev driver, from the linux-source of the guest
# kernel's series (setup.sh extracts it; never in this tree), built as an
# out-of-tree module against KDIR, for the guest's mdev-mtty.sh.
MTTY_DIR = $(BUILD)/mtty-$(shell echo $(KVER) | cut -d. -f1,2)
MTTY := $(MODDIR)/mtty.ko

$(MTTY): $(MTTY_DIR)/mtty.c
	@mkdir -p $(MODDIR)/mtty
	cp $< $(MODDIR)/mtty/
	echo 'obj-m := mtty.o' > $(MODDIR)/mtty/Kbuild
	$(MAKE) -C $(KDIR) M=$(MODDIR)/mtty modules
	cp $(MODDIR)/mtty/mtty.ko $@

# QEMU 10 from bookworm-backports, unpacked beside the host's 7.2.
QEMU10 := $(BUILD)/qemu-10/qemu-system-x86_64

$(QEMU10):
	tools/testing/qemu/fetch-qemu.sh $(BUILD)/qemu-10

# What the plain VT-d runs add in the guest (Documentation/qemu.rst): the
# nested-QEMU test with QEMU 10 too, and mtty on the module. GUEST_EXTRAS
# are built first, GUEST_ENV goes before the guest's command.
GUEST_EXTRAS_vtd := $(MTTY) $(QEMU10)
GUEST_ENV_vtd := NESTED_QEMUS="qemu-system-x86_64 $(QEMU10)" MTTY=$(MTTY)
GUEST_EXTRAS = $(GUEST_EXTRAS_$(CHECK_IOMMU))
GUEST_ENV = $(GUEST_ENV_$(CHECK_IOMMU))
# They add 3 to 4 minutes, which would leave a loaded host's run too close
# to run.sh's default timeout (15 minutes).
GUEST_TIMEOUT = $(if $(GUEST_ENV),--timeout 1500)

# The IOMMU of a guest run (make check IOMMUS=...): its run.sh options,
# its name in the output and its logs' directory. vtd keeps the plain
# names (build/vm/check-<kernel>/, "<kernel>: N passed, ...").
# vtd2m loads the module with min_pgsize=2 MiB (a granule above
# PAGE_SIZE, through GUEST_ENV) and adds a 64 MiB BAR. vtd adds a 1 GiB
# ivshmem BAR (vfio_range_hugebar_test; the outer QEMU's memory, not the
# guest's).
CHECK_IOMMU ?= vtd
CHECK_IOMMUS := vtd vtd48 amd virtio vtd2m
IOMMU_ARGS_vtd := --ivshmem 1G
IOMMU_ARGS_vtd48 := --iommu intel --aw-bits 48
IOMMU_ARGS_amd := --iommu amd
IOMMU_ARGS_virtio := --iommu virtio
IOMMU_ARGS_vtd2m := --ivshmem 64M
GUEST_ENV_vtd2m := VRANGE_PARAMS=min_pgsize=0x200000
IOMMU_NAME_vtd :=
IOMMU_NAME_vtd48 := VT-d aw-bits 48
IOMMU_NAME_amd := AMD-Vi
IOMMU_NAME_virtio := virtio-iommu
IOMMU_NAME_vtd2m := VT-d min_pgsize 2 MiB
CHECK_SUFFIX := $(if $(filter-out vtd,$(CHECK_IOMMU)),-$(CHECK_IOMMU))
CHECK_NAME := $(KVER)$(if $(IOMMU_NAME_$(CHECK_IOMMU)), ($(IOMMU_NAME_$(CHECK_IOMMU))))
CHECK_OUT := $(BUILD)/vm/check-$(KVER)$(CHECK_SUFFIX)
SUMMARY = $(BUILD)/vm/summary-$(KVER)$(CHECK_SUFFIX)

# The "# top:" lines are the DMA at the top of the space, type1 beside
# this module (vfio_range_top_test): on record, whatever type1 does.
_check: modules selftests $(GUEST_EXTRAS)
	@test -n "$(filter $(CHECK_IOMMU),$(CHECK_IOMMUS))" || \
		{ echo "unknown IOMMU '$(CHECK_IOMMU)' ($(CHECK_IOMMUS))" >&2; exit 2; }
	@echo "=== $(CHECK_NAME)"
	@rm -f $(SUMMARY); rc=0; \
	$(VM_RUN) --kver $(KVER) $(IOMMU_ARGS_$(CHECK_IOMMU)) $(GUEST_TIMEOUT) \
		$(VM_ARGS) --out $(CHECK_OUT) -- \
		'$(GUEST_ENV) $(GUEST_TESTS) $(MODDIR) $(SELFTEST_OUT) $(GUEST_ARGS)' || rc=$$?; \
	grep -h '^# top: ' $(CHECK_OUT)/output.txt 2>/dev/null | \
		sed 's/^# top: /$(CHECK_NAME) top: /'; \
	tools/testing/summarize.sh $(CHECK_OUT)/output.txt $$rc | \
		tee $(SUMMARY).tmp | sed 's/^\([0-9]\)/$(CHECK_NAME): \1/'; \
	tail -n 1 $(SUMMARY).tmp > $(SUMMARY); rm -f $(SUMMARY).tmp; \
	grep -q ' 0 failed' $(SUMMARY)

# DPDK's testpmd forwarding between two e1000 NICs, on vfio_iommu_type1 and
# then on the module in compat mode with type1 unloaded
# (tools/testing/dpdk/testpmd.sh): a guest run of its own, once, on 6.1
# with VT-d, when make check's matrix has that configuration. 256 2 MiB
# hugepages: testpmd takes 128 MiB of them. VM_ARGS adds run.sh options
# (e.g. --iommu amd, --nics virtio: the last --nics wins).
DPDK_KERNEL := 6.1
DPDK_CHECK := $(and $(filter $(DPDK_KERNEL),$(KERNELS)),$(filter vtd,$(IOMMUS)))
DPDK_OUT = $(BUILD)/vm/dpdk-$(KVER)
DPDK_SUMMARY = $(BUILD)/vm/summary-$(KVER)-dpdk

_dpdk: modules
	@echo "=== $(KVER) (DPDK testpmd)"
	@rm -f $(DPDK_SUMMARY); rc=0; \
	$(VM_RUN) --kver $(KVER) --nics e1000 --append hugepages=256 $(VM_ARGS) \
		--out $(DPDK_OUT) -- 'tools/testing/dpdk/testpmd.sh $(MODULE)' || \
		rc=$$?; \
	tools/testing/summarize.sh $(DPDK_OUT)/output.txt $$rc | \
		tee $(DPDK_SUMMARY).tmp | sed 's/^\([0-9]\)/$(KVER) (DPDK testpmd): \1/'; \
	tail -n 1 $(DPDK_SUMMARY).tmp > $(DPDK_SUMMARY); rm -f $(DPDK_SUMMARY).tmp; \
	grep -q ' 0 failed' $(DPDK_SUMMARY)

# The suite on the debug kernel of tools/testing/vm/debug.config, plus the
# KUnit tests, a kmemleak scan and its positive control
# (tools/testing/debug-guest-tests.sh), then the positive control of lockdep
# in a short boot of its own (_lockdep_control); lint again, as only this
# kernel builds the KUnit module. PLANT (none, leak, lockdep) loads
# vfio_range_test.ko with plant=$(PLANT) for the suite: such a run must
# fail. Its results and summaries are kept apart
# (build/vm/*-plant-$(PLANT)*). run.sh boots every kernel with
# no_timer_check, which this one needs under TCG.
PLANT ?= none
DEBUG_TAG := debug$(if $(filter-out none,$(PLANT)),-plant-$(PLANT))
DEBUG_SUMMARY := $(BUILD)/vm/$(DEBUG_TAG)-summary

check-debug: deps
	@case "$(PLANT)" in none|leak|lockdep) ;; \
	*) echo "PLANT=$(PLANT): none, leak or lockdep" >&2; exit 2 ;; esac; \
	vars=$$(tools/testing/vm/build-debug-kernel.sh) || exit 1; eval "$$vars"; \
	dbg="KVER=$$DEBUG_KVER KDIR=$$DEBUG_KDIR VMLINUX=$$DEBUG_KDIR/vmlinux \
		VFIO_KO=$$DEBUG_KDIR/drivers/vfio/vfio.ko"; \
	vm="--kernel $$DEBUG_IMAGE --moddir $$DEBUG_MODDIR/lib/modules \
		--mem 3G"; \
	out=$(BUILD)/vm/check-$$DEBUG_KVER$(if $(filter-out none,$(PLANT)),-plant-$(PLANT)); \
	rc=0; rm -f $(DEBUG_SUMMARY)-*; mkdir -p $(BUILD)/vm; \
	$(MAKE) --no-print-directory _lint $$dbg || { rc=1; \
		echo "0 passed, 1 failed, 0 skipped" > $(DEBUG_SUMMARY)-lint; }; \
	$(MAKE) --no-print-directory _check $$dbg \
		SUMMARY=$(DEBUG_SUMMARY)-tests CHECK_OUT=$$out \
		GUEST_TESTS=tools/testing/debug-guest-tests.sh GUEST_ARGS=$(PLANT) \
		GUEST_EXTRAS= GUEST_ENV= \
		VM_ARGS="$$vm --timeout 5400" || { rc=1; \
		[ -s $(DEBUG_SUMMARY)-tests ] || echo "0 passed, 1 failed, 0 skipped" \
			> $(DEBUG_SUMMARY)-tests; }; \
	$(MAKE) --no-print-directory _lockdep_control $$dbg \
		SUMMARY=$(DEBUG_SUMMARY)-lockdep CHECK_OUT=$$out-lockdep \
		VM_ARGS="$$vm --timeout 900" || rc=1; \
	cat $(DEBUG_SUMMARY)-* | awk -F'[ ,]+' \
		'{ p += $$1; f += $$3; s += $$5 } END { print p " passed, " f " failed, " s " skipped" }'; \
	[ "$(PLANT)" = none ] || echo "PLANT=$(PLANT): this run must fail (see above)"; \
	exit $$rc

# Lockdep's positive control: a boot that loads vfio_range_test.ko with
# plant=lockdep must end in run.sh's kernel log check flagging the report
# (exit 123) of a cycle of the planted locks. A boot of its own, since
# lockdep turns itself off after its first report.
LOCKDEP_REPORT := WARNING: possible circular locking dependency detected
LOCKDEP_CMD := insmod $(MODULE) && insmod $(TEST_MODULE) plant=lockdep && \
	rmmod vfio_range_test && rmmod vfio_iommu_range

_lockdep_control: modules
	@rm -f $(SUMMARY); rc=0; echo "# ===== lockdep positive control"; \
	$(VM_RUN) --kver $(KVER) $(VM_ARGS) --out $(CHECK_OUT) -- \
		'$(LOCKDEP_CMD)' || rc=$$?; \
	klog() { cat $(CHECK_OUT)/dmesg.txt $(CHECK_OUT)/kmsg.log 2>/dev/null; }; \
	pass=0 fail=0; \
	t() { if eval "$$2"; then echo "ok - $$1"; pass=$$((pass + 1)); \
		else echo "not ok - $$1"; fail=$$((fail + 1)); fi; }; \
	t "the kernel log check flagged the boot (run.sh exit 123: $$rc)" \
		'[ $$rc -eq 123 ]'; \
	t "lockdep reported a possible circular locking dependency" \
		'klog | grep -q "$(LOCKDEP_REPORT)"'; \
	t "between the planted locks test_plant_a and test_plant_b" \
		'klog | grep -q test_plant_a && klog | grep -q test_plant_b'; \
	echo "$$pass passed, $$fail failed, 0 skipped" > $(SUMMARY); \
	sed 's/^/lockdep control: /' $(SUMMARY); \
	[ $$fail -eq 0 ]

INSTALL_MOD_DIR := /lib/modules/$(KVER)/updates/vfio-range
UAPI_DIR := /usr/include/linux

install: modules
	install -D -m 644 $(MODULE) $(INSTALL_MOD_DIR)/vfio_iommu_range.ko
	depmod -a $(KVER)
	install -D -m 644 include/uapi/linux/vfio_range.h $(UAPI_DIR)/vfio_range.h
	install -D -m 644 tools/build/vfio-range.modprobe.conf \
		/etc/modprobe.d/vfio-range.conf

# One boot per kernel of KERNELS, one table each in results.txt. 1 GiB
# each of fragmented 4 KiB, THP and 2 MiB hugetlb memory and one 1 GiB
# hugetlb page, all populated at once: 6 GiB of guest memory; and a 1 GiB
# ivshmem BAR (workload 6; its memory is the outer QEMU's, not the
# guest's). The slab debugging the tests boot with is off, as on a
# production host.
BENCH_APPEND := default_hugepagesz=2M hugepagesz=2M hugepages=512 \
	hugepagesz=1G hugepages=1 slub_debug=- kfence.sample_interval=0

bench:
	@$(SETUP) $(KERNELS) >/dev/null
	@start=$$(date +%s); rc=0; mkdir -p $(BUILD)/bench; \
	rm -f $(BUILD)/bench/results.txt; \
	for series in $(KERNELS); do \
		$(MAKE) --no-print-directory _bench \
			KVER=$$($(SETUP) --kver $$series) || rc=1; \
	done; \
	echo "bench: $(words $(KERNELS)) guest boots in $$(( $$(date +%s) - start )) s, tables in $(BUILD)/bench/results.txt"; \
	exit $$rc

_bench: modules
	$(MAKE) -C tools/testing/bench OUTPUT=$(BUILD)/bench
	$(VM_RUN) --kver $(KVER) --out $(BUILD)/vm/bench-$(KVER) --mem 6G --ivshmem 1G \
		--append '$(BENCH_APPEND)' -- tools/testing/bench/run-bench.sh \
		--module $(MODULE) --bench $(BUILD)/bench/vfio_range_bench
	{ cat $(BUILD)/vm/bench-$(KVER)/bench.txt; echo; } >>$(BUILD)/bench/results.txt

dkms-check: deps
	@tools/build/dkms-check.sh $$($(SETUP) $(KERNELS))

clean:
	rm -rf $(BUILD)/*/src $(BUILD)/*/mtty $(BUILD)/selftests $(BUILD)/demo $(BUILD)/vm
