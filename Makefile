# Tollgate - eBPF/XDP traffic policer for ISP edge networks.
#
#   make            build everything into build/
#   make test       install dependencies, build, run every test suite
#   make test-kernels  the BPF suites on Debian 12's kernel (6.1) under qemu (tests/kernels/run.sh)
#   make demo       install dependencies, build, run the namespace lab demo
#   make soak       SOAK_MINUTES (10) of churn under lab traffic, then the checks (docs/soak.md)
#   make bench      benchmarks: the program under BPF_PROG_TEST_RUN and on a veth wire (beside
#                   nftables and the reverse-path check), the counters' fold, load and reload;
#                   BENCH_QUICK=1: small, fast
#   make lint       clang-format check, clang --analyze, cppcheck, shellcheck, the man pages
#                   (mandoc -Tlint, scripts/check-man.py), the links of the docs (scripts/check-docs.py)
#   make install    binaries, man pages, docs, systemd unit, example config (PREFIX, DESTDIR)
#   V=1             show the commands

.DELETE_ON_ERROR:
.SUFFIXES:

BUILD     ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN      := -Wall -Wextra -Werror
CFLAGS    ?= -O2 -g
USER_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP -Iheaders -Iuser -I$(BUILD) \
	$(shell pkg-config --cflags libbpf yaml-0.1 jansson sqlite3 libcurl libsystemd libmicrohttpd libnl-3.0 libnl-route-3.0 2>/dev/null)
USER_LDLIBS := $(shell pkg-config --libs libbpf yaml-0.1 jansson sqlite3 libcurl libsystemd libmicrohttpd libnl-3.0 libnl-route-3.0 2>/dev/null) -lcsv -lelf -lz -lm
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(WARN) -MMD -MP -Iheaders \
	$(if $(MULTIARCH),-I/usr/include/$(MULTIARCH))

BPF_SRC   := bpf/tollgate.bpf.c
BPF_OBJ   := $(BUILD)/tollgate.bpf.o
SKEL      := $(BUILD)/tollgate.skel.h
FOLD_OBJ  := $(BUILD)/fold.bpf.o
FOLD_SKEL := $(BUILD)/fold.skel.h
LIB_SRC   := $(filter-out user/cli/tollgate.c user/daemon/tollgated.c,$(wildcard user/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libtollgate.a
BINS      := $(BUILD)/tollgate $(BUILD)/tollgated
TEST_BINS := $(BUILD)/tests/test_config $(BUILD)/tests/test_rules $(BUILD)/tests/test_lists \
	$(BUILD)/tests/test_notify \
	$(BUILD)/tests/test_hardening $(BUILD)/tests/test_etcd $(BUILD)/tests/test_mitigation \
	$(BUILD)/tests/test_golden \
	$(BUILD)/tests/test_contend $(BUILD)/tests/test_sync $(BUILD)/tests/test_pktfuzz \
	$(BUILD)/tests/xdp_foreign.bpf.o \
	$(BUILD)/tests/tollgated_clockstep
TEST_BINS += $(BUILD)/tests/test_evid
TEST_BINS += $(BUILD)/tests/test_whois
TEST_BINS += $(BUILD)/tests/test_alert
TEST_BINS += $(BUILD)/tests/test_quota
TEST_BINS += $(BUILD)/tests/test_capture
BENCH_BIN := $(BUILD)/bench/bench_xdp

.PHONY: all test test-kernels demo bench lint clean install deps soak
all: $(BINS) $(TEST_BINS) $(BENCH_BIN)

$(BUILD) $(BUILD)/tests $(BUILD)/bench:
	$(Q)mkdir -p $@

$(BPF_OBJ): $(BPF_SRC) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tollgate > $@

# The iterator that folds the per-CPU counters (bpf/fold.bpf.c), its own object and skeleton
$(FOLD_OBJ): bpf/fold.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(FOLD_SKEL): $(FOLD_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name fold_bpf > $@

$(BUILD)/user/datapath/skel.o: $(FOLD_SKEL)

$(BUILD)/user/%.o: user/%.c $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

# The NOC page tollgated serves at /, embedded as a C string.
$(BUILD)/page.h: user/daemon/page.html | $(BUILD)
	$(call msg,GEN,$@)
	$(Q){ printf 'static const char tg_page_html[] =\n'; \
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
		printf ';\n'; } > $@

$(BUILD)/user/daemon/exporter.o: $(BUILD)/page.h

$(LIB): $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/tollgate: $(BUILD)/user/cli/tollgate.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

$(BUILD)/tollgated: $(BUILD)/user/daemon/tollgated.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

# tollgated with a wall clock a test can step (tests/integration/clock_step.c replaces
# user/lib/clock.c: linked before the library, so the library's clock.o is not pulled in)
$(BUILD)/tests/clock_step.o: tests/integration/clock_step.c | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/tests/tollgated_clockstep: $(BUILD)/user/daemon/tollgated.o $(BUILD)/tests/clock_step.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

$(BUILD)/tests/%.bpf.o: tests/integration/%.bpf.c | $(BUILD)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/unit/%.c $(SKEL) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/%.o: tests/bpf/%.c $(SKEL) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests -c $< -o $@

# test_golden: its main, its groups and harness under tests/bpf/golden/ (docs/testing.md), and
# tests/bpf/harness.c, which test_pktfuzz shares
GOLDEN_OBJ := $(patsubst tests/bpf/golden/%.c,$(BUILD)/tests/golden/%.o,$(wildcard tests/bpf/golden/*.c))

$(BUILD)/tests/golden/%.o: tests/bpf/golden/%.c $(SKEL) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/test_golden: $(BUILD)/tests/test_golden.o $(GOLDEN_OBJ) $(BUILD)/tests/harness.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

$(BUILD)/tests/test_pktfuzz: $(BUILD)/tests/test_pktfuzz.o $(BUILD)/tests/harness.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

$(BUILD)/bench/%.o: bench/%.c $(SKEL) | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BENCH_BIN): $(BUILD)/bench/bench_xdp.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

# The in-kernel fold of the per-CPU counters against the userspace one (bench/bench_fold.c)
BENCH_FOLD := $(BUILD)/bench/bench_fold
all: $(BENCH_FOLD)

$(BENCH_FOLD): $(BUILD)/bench/bench_fold.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

# The bare XDP_DROP program bench_xdp measures beside Tollgate's, embedded as a skeleton.
BENCH_BPF_OBJ := $(BUILD)/bench/xdp_drop.bpf.o
BENCH_SKEL    := $(BUILD)/bench/xdp_drop.skel.h

$(BENCH_BPF_OBJ): bench/xdp_drop.bpf.c | $(BUILD)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The bare XDP_PASS program bench_wire.sh's pass cases measure beside Tollgate's.
BENCH_PASS_OBJ := $(BUILD)/bench/xdp_pass.bpf.o
all: $(BENCH_PASS_OBJ)

$(BENCH_PASS_OBJ): bench/xdp_pass.bpf.c | $(BUILD)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_SKEL): $(BENCH_BPF_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name xdp_drop > $@

$(BUILD)/bench/bench_xdp.o: $(BENCH_SKEL)

deps:
	$(Q)scripts/install-deps.sh

# The prerequisites are ordered: deps must finish before the build starts, so these
# targets call make again rather than listing deps beside all.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh

# KERNELS: Debian kernel image packages (default: what linux-image-cloud-amd64 depends on).
test-kernels: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/kernels/run.sh $(KERNELS)

# The soak test (tests/integration/test_soak.sh) for SOAK_MINUTES; make test runs it for 60 s.
SOAK_MINUTES ?= 10
soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)SOAK_SECONDS=$$(( $(SOAK_MINUTES) * 60 )) tests/integration/test_soak.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# BENCH_QUICK=1: every case small and fast (1k customers, one short round): proves the
# harness and its count checks; its figures mean nothing.
BENCH_XDP_ARGS := $(if $(filter 1,$(BENCH_QUICK)),-n 100000 -r 1 -s 1k -t 0.5)
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BENCH_BIN) $(BENCH_XDP_ARGS)
	$(Q)$(BENCH_FOLD) $(if $(filter 1,$(BENCH_QUICK)),-n 100000 -r 3)
	$(Q)BENCH_QUICK=$(BENCH_QUICK) bench/bench_wire.sh
	$(Q)$(if $(filter 1,$(BENCH_QUICK)),BENCH_LOAD_SIZES=$${BENCH_LOAD_SIZES:-1000}) bench/bench_load.sh

# libFuzzer targets for the configuration readers (tests/fuzz): built with clang, ASan and
# UBSan from the three sources they exercise, not libtollgate.a (no BPF, no skeleton).
# `make fuzz` runs each for FUZZ_SECONDS on a scratch copy of its corpus (tests/fuzz/run_fuzz.sh;
# make test runs the same script for 20 s each).
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP -Iheaders -Iuser \
	$(shell pkg-config --cflags yaml-0.1 2>/dev/null)
FUZZ_LDLIBS  := $(shell pkg-config --libs yaml-0.1 2>/dev/null) -lcsv
FUZZ_CFG_OBJ := $(patsubst user/config/%.c,$(BUILD)/fuzz/%.o,$(wildcard user/config/*.c)) $(BUILD)/fuzz/fuzz_util.o \
	$(BUILD)/fuzz/names.o
FUZZ_BINS    := $(BUILD)/fuzz/fuzz_csv $(BUILD)/fuzz/fuzz_yaml $(BUILD)/fuzz/fuzz_units

# Part of all: they build in about 3 s (clang, libclang-rt-14-dev from install-deps.sh).
all: $(FUZZ_BINS)

$(BUILD)/fuzz:
	$(Q)mkdir -p $@

$(BUILD)/fuzz/%.o: tests/fuzz/%.c | $(BUILD)/fuzz
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/%.o: user/config/%.c | $(BUILD)/fuzz
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/%.o: user/lib/%.c | $(BUILD)/fuzz
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/fuzz_csv $(BUILD)/fuzz/fuzz_yaml: $(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(FUZZ_CFG_OBJ)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(FUZZ_LDLIBS)

$(BUILD)/fuzz/fuzz_units: $(BUILD)/fuzz/fuzz_units.o $(BUILD)/fuzz/units.o
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@

.PHONY: fuzz
# libFuzzer on the configuration readers, then the packet fuzzer (tests/bpf/test_pktfuzz.c:
# generated and mutated frames through the program against a reference model).
PKTFUZZ_FRAMES ?= 1000000
fuzz: deps $(BUILD)/tests/test_pktfuzz
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run_fuzz.sh
	$(Q)$(BUILD)/tests/test_pktfuzz -n $(PKTFUZZ_FRAMES)

LINT_SRC := $(wildcard bpf/*.c bpf/*.h headers/*.h user/*/*.c user/*/*.h tests/*/*.c tests/*/*.h \
	tests/*/*/*.c tests/*/*/*.h bench/*.c)
# shellcheck follows what a script sources (-x), found from the script's own directory.
LINT_SH := $(wildcard scripts/*.sh tests/*.sh tests/*/*.sh)
# The man pages: tollgate(8), tollgated(8), tollgate.yaml(5).
MAN8 := docs/man/tollgate.8 docs/man/tollgated.8
MAN5 := docs/man/tollgate.yaml.5
lint: deps $(SKEL) $(BINS)
	$(call msg,LAYERS,user)
	$(Q)scripts/check-layers.sh
	$(call msg,SHCHECK,scripts tests)
	$(Q)shellcheck -x -P SCRIPTDIR $(LINT_SH)
	$(call msg,MANDOC,docs/man)
	$(Q)mandoc -Tlint -Wwarning $(MAN8) $(MAN5)
	$(call msg,MAN,docs/man against the code)
	$(Q)scripts/check-man.py $(BUILD)
	$(call msg,DOCS,links)
	$(Q)scripts/check-docs.py
	$(call msg,FORMAT,check)
	$(Q)clang-format --dry-run -Werror $(LINT_SRC)
	$(call msg,CPPCHECK,user)
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem --include=/usr/include/bpf/libbpf_common.h \
		--include=/usr/include/jansson.h -Iheaders -Iuser -I$(BUILD) user tests/unit tests/bpf bench
	$(call msg,ANALYZE,user)
	$(Q)for f in $(filter-out user/datapath/skel.c,$(LIB_SRC)) user/cli/tollgate.c user/daemon/tollgated.c; do \
		$(CLANG) --analyze -Xanalyzer -analyzer-output=text -Xanalyzer -analyzer-werror \
			$(filter-out -MMD -MP,$(USER_CFLAGS)) \
			-o /dev/null $$f || exit 1; done

install: $(BINS)
	install -D -m 0755 $(BUILD)/tollgate $(DESTDIR)$(PREFIX)/sbin/tollgate
	install -D -m 0755 $(BUILD)/tollgated $(DESTDIR)$(PREFIX)/sbin/tollgated
	install -D -m 0644 examples/tollgate.yaml $(DESTDIR)/etc/tollgate/tollgate.yaml.example
	install -D -m 0644 examples/customers.csv $(DESTDIR)/etc/tollgate/customers.csv.example
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/tollgate/README.md
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/doc/tollgate/docs
	install -m 0644 $(wildcard docs/*.md) $(DESTDIR)$(PREFIX)/share/doc/tollgate/docs/
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 $(MAN8) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -D -m 0644 scripts/dashboards/tollgate-grafana.json \
		$(DESTDIR)$(PREFIX)/share/tollgate/dashboards/tollgate-grafana.json
	install -D -m 0644 scripts/dashboards/tollgate-alerts.yml \
		$(DESTDIR)$(PREFIX)/share/tollgate/dashboards/tollgate-alerts.yml
	install -d -m 0755 $(DESTDIR)/lib/systemd/system
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/systemd/tollgated.service \
		> $(DESTDIR)/lib/systemd/system/tollgated.service
	chmod 0644 $(DESTDIR)/lib/systemd/system/tollgated.service

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(BUILD)/*/*/*.d)
