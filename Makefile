# xadc top-level Makefile.
#
# Everything is built out of tree under $(BUILD) (default: build/).
#   make            build xadcd, xadcctl and the unit tests
#   make test       run the whole suite (unit, fuzz smoke, end-to-end) via prove
#   make demo       bring up a namespace lab and show xadc balancing real traffic
#   make deps       install the Debian packages the project needs (idempotent)
#   make help       this list
# V=1 shows full commands.

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
PKGS     := jansson libmicrohttpd libcurl openssl
CFLAGS   ?= -O2 -g
XCFLAGS  := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	    -Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing \
	    -D_GNU_SOURCE -Iinclude -pthread -MMD -MP
LDLIBS   := -pthread -ljansson -lmicrohttpd -lm -lhs -lpcre2-8 -lstdc++ -llua5.4 -lcrypto

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# The daemon's modules. main.c is kept out of the library so unit tests
# can link every module without a second main().
XADCD_SRCS := $(filter-out userspace/main.c,$(wildcard userspace/*.c policy/*.c datascript/*.c))
XADCD_OBJS := $(XADCD_SRCS:%.c=$(BUILD)/%.o)
LIBXADC    := $(BUILD)/libxadc.a

CTL_SRCS   := $(wildcard ctl/*.c)
CTL_OBJS   := $(CTL_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS  := $(wildcard selftests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:selftests/unit/%.c=$(BUILD)/selftests/%)

FUZZ_SRCS  := $(wildcard selftests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:selftests/fuzz/%.c=$(BUILD)/selftests/%)

# Packages make deps installs; make test / make demo call deps when a
# tool or header below is missing.
DEB_PKGS := build-essential clang llvm pkg-config libjansson-dev libmicrohttpd-dev \
	    libcurl4-openssl-dev libssl-dev libbpf-dev libxdp-dev xdp-tools bpftool \
	    liblua5.4-dev libnl-3-dev libnl-route-3-dev libpcre2-dev libhyperscan-dev libclang-rt-14-dev \
	    nginx-light haproxy wrk curl iproute2 iputils-ping jq perl nftables \
	    procps psmisc
# True when every package is installed (dpkg -s is quick and exact).
DEPS_STAMP_CHECK := for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || exit 1; done

.PHONY: all help deps deps-check test unit e2e fuzz demo bench clean format

all: $(BUILD)/xadcd $(BUILD)/xadcctl $(UNIT_BINS)

help:
	@echo 'Targets:'
	@echo '  all (default)  build $(BUILD)/xadcd, $(BUILD)/xadcctl and unit tests'
	@echo '  deps           apt-get install every package xadc needs (idempotent)'
	@echo '  test           whole suite through prove: unit, fuzz smoke, end-to-end (root)'
	@echo '  unit           unit tests only'
	@echo '  e2e            end-to-end namespace tests only (root)'
	@echo '  fuzz           build the libFuzzer targets (clang)'
	@echo '  demo           namespace lab: client, SE, backends; traffic and stats (root)'
	@echo '  bench          benchmarks against peers, results in bench/results/ (root)'
	@echo '  format         clang-format the C sources'
	@echo '  clean          remove $(BUILD)'
	@echo 'Variables: V=1 verbose, BUILD=dir, CC=compiler, T=pattern (test filter)'

deps:
	@if ( $(DEPS_STAMP_CHECK) ); then echo 'deps: all present'; else \
		echo 'deps: installing Debian packages'; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $(DEB_PKGS); fi

deps-check:
	@( $(DEPS_STAMP_CHECK) ) || $(MAKE) --no-print-directory deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -c $< -o $@

$(LIBXADC): $(XADCD_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/xadcd: $(BUILD)/userspace/main.o $(LIBXADC)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/xadcctl: $(CTL_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -ljansson -lcurl

$(BUILD)/selftests/test_%: selftests/unit/test_%.c $(LIBXADC) selftests/lib/test_progs.h
	@mkdir -p $(dir $@)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -Iselftests/lib -o $@ $< $(LIBXADC) $(LDLIBS)

# libFuzzer targets: each fuzz_X.c links the library built with ASan/UBSan.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -Iinclude
$(BUILD)/selftests/fuzz_%: selftests/fuzz/fuzz_%.c $(XADCD_SRCS)
	@mkdir -p $(dir $@)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(XADCD_SRCS) $(LDLIBS)

fuzz: $(FUZZ_BINS)

unit: $(UNIT_BINS)
	prove -f $(UNIT_BINS)

test: deps-check all fuzz
	XADC_BUILD=$(abspath $(BUILD)) selftests/run.sh $(T)

e2e: deps-check all
	XADC_BUILD=$(abspath $(BUILD)) selftests/run.sh e2e

demo: deps-check all
	XADC_BUILD=$(abspath $(BUILD)) examples/demo.sh

bench: deps-check all
	XADC_BUILD=$(abspath $(BUILD)) bench/run.sh

format:
	clang-format -i $(wildcard userspace/*.[ch] ctl/*.[ch] include/xadc/*.h selftests/unit/*.c)

clean:
	rm -rf $(BUILD)

# --- DataSet micro-benchmark (policy/dataset*.c) ---
# make bench-dataset: per-match cost of every string/IP group operator at
# 10, 10,000 and 100,000 entries; tables in bench/results/dataset.{md,json}.
$(BUILD)/bench/bench_dataset: bench/micro/bench_dataset.c $(LIBXADC)
	@mkdir -p $(dir $@)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -Ipolicy -o $@ $< $(LIBXADC) $(LDLIBS)

bench-dataset: $(BUILD)/bench/bench_dataset
	$(BUILD)/bench/bench_dataset bench/results
.PHONY: bench-dataset
# --- end DataSet micro-benchmark ---

# --- XDP data plane (bpf/) ---
# bpf/*.bpf.c are compiled with clang's BPF target against a vmlinux.h
# generated from the running kernel's BTF, and embedded into libxadc as
# bpftool skeletons (userspace/xdp_*.c include $(BUILD)/bpf/*.skel.h).
BPFTOOL   ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_CFLAGS := -target bpf -g -O2 -Wall -D__TARGET_ARCH_x86 -I$(BUILD)/bpf -Ibpf
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
BPF_TEST_SRCS := $(wildcard selftests/bpf/test_bpf_*.c)
BPF_TEST_BINS := $(BPF_TEST_SRCS:selftests/bpf/%.c=$(BUILD)/selftests/%)
LDLIBS    += -lbpf -lxdp -lelf -lz
FUZZ_CFLAGS += -I$(BUILD)/bpf -Ibpf

$(BUILD)/bpf/vmlinux.h:
	@mkdir -p $(dir $@)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/xadc_common.h $(BUILD)/bpf/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Skeleton named <prog>_bpf so it cannot clash with the library's types.
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp 2>/dev/null && mv $@.tmp $@

$(BUILD)/userspace/xdp_%.o: userspace/xdp_%.c $(BPF_SKELS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -I$(BUILD)/bpf -Ibpf -c $< -o $@

# BPF tests: run by selftests/run.sh with the unit tests (they skip
# themselves when BPF is unavailable).
$(BUILD)/selftests/test_bpf_%: selftests/bpf/test_bpf_%.c selftests/bpf/pkt.h \
		$(LIBXADC) selftests/lib/test_progs.h
	@mkdir -p $(dir $@)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -Iselftests/lib -Ipolicy -I$(BUILD)/bpf -Ibpf -o $@ $< \
		$(LIBXADC) $(LDLIBS)

# Not tests (no test_ prefix): selftests/e2e/xdp_nsp.sh and xdp_scaleout.sh
# drive them.
$(BUILD)/selftests/xdp_%_helper: selftests/bpf/xdp_%_helper.c $(LIBXADC)
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -o $@ $< $(LIBXADC) $(LDLIBS)

.PRECIOUS: $(BUILD)/bpf/%.bpf.o $(BUILD)/bpf/vmlinux.h
$(FUZZ_BINS): $(BPF_SKELS)
all: $(BPF_TEST_BINS) $(BUILD)/selftests/xdp_nsp_helper $(BUILD)/selftests/xdp_steer_helper
bpf: $(BPF_SKELS) $(BPF_TEST_BINS)
bpf-test: $(BPF_TEST_BINS)
	prove -f $(BPF_TEST_BINS)
.PHONY: bpf bpf-test
# --- end XDP data plane ---

-include $(wildcard $(BUILD)/userspace/*.d $(BUILD)/policy/*.d $(BUILD)/datascript/*.d $(BUILD)/ctl/*.d)

# --- bench: xdp ---
# bench/xdp/: bench_xdp (per-packet cost of the xadc XDP program and of
# xdp-filter through BPF_PROG_TEST_RUN; holds the program attached for the
# live drop test) and xdp_flood (the SYN sender). bench/run.sh runs both;
# make bench builds them.
$(BUILD)/bench/bench_xdp: bench/xdp/bench_xdp.c $(LIBXADC) $(BPF_SKELS)
	@mkdir -p $(dir $@)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -I$(BUILD)/bpf -Ibpf -o $@ $< $(LIBXADC) $(LDLIBS)

$(BUILD)/bench/xdp_flood: bench/xdp/xdp_flood.c
	@mkdir -p $(dir $@)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -o $@ $<

bench-xdp: $(BUILD)/bench/bench_xdp $(BUILD)/bench/xdp_flood
bench: bench-xdp
.PHONY: bench-xdp
# --- end bench: xdp ---
