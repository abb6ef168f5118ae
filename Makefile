# ipcguard: the usual verbs around the Samba tree's waf (as Samba wraps waf).
# The first build prepares a Samba source tree matching the installed smbd
# (about 15 minutes on 2 cores); later builds reuse it from
# /var/cache/ipcguard.

PYTHON := /usr/bin/python3
DESTDIR ?=
MODULESDIR = $(shell smbd -b 2>/dev/null | sed -n 's/^ *MODULESDIR: //p')
SBINDIR ?= /usr/sbin
MANDIR ?= /usr/share/man
UNITDIR ?= /lib/systemd/system
EXAMPLESDIR ?= /usr/share/doc/ipcguard/examples

.PHONY: all build deps test unit integration demo bench bench-door man install clean deb

all: build

deps:
	./tools/install-deps.sh

build:
	./tools/build.sh

unit: build
	./build/test_policy
	./build/test_rules
	./build/test_contexts

integration: build
	cd tests/integration && $(PYTHON) -m pytest -v -p no:cacheprovider

# The README's test command: sets everything up and runs every test.
test:
	./tests/run.sh

# Every Debian suite's Samba (bookworm, trixie, trixie-backports, sid), each
# in its own test bed (tools/bed.sh); writes docs/versions.md.
.PHONY: matrix
matrix:
	$(PYTHON) tools/matrix.py --write

# The README's demo command.
demo:
	./tools/demo.sh

# Plain Samba, Samba with ipcguard and with 100 rules, interleaved, driven
# by build/bench_client (C); writes docs/benchmarks.md and the marked block
# of README.md.  The gate's callgrind profiles need valgrind (skipped
# without it).
bench: build
	$(PYTHON) tests/bench/bench_gate.py --write

# The TCP door against a DC without it: new TCP connections, anonymous and
# authenticated, interleaved; writes docs/benchmarks-door.md.
bench-door: build
	$(PYTHON) tests/bench/bench_door.py --write

man:
	./tools/build-man.sh

# Full load (100,000 pipe opens, gated and plain Samba) and the scripted
# faults; both write their section of docs/results.md.  Short modes run in
# make test (tests/integration/test_load.py).
.PHONY: load
load: build
	$(PYTHON) tests/load/load.py --full --write; s1=$$?; \
	$(PYTHON) tests/load/faults.py --full --write; s2=$$?; \
	test $$s1 = 0 && test $$s2 = 0

# Smb.conf.example's DC profile on two freshly provisioned AD DCs (TCP
# door and none): what anonymous callers, Administrator and a member get
# over SMB and TCP; writes its section of docs/results.md.
.PHONY: dc-results
dc-results: build
	$(PYTHON) tests/integration/dc_results.py --write

install: build man
	install -d $(DESTDIR)$(MODULESDIR)/vfs $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(EXAMPLESDIR)
	install -m 0644 build/ipcguard.so $(DESTDIR)$(MODULESDIR)/vfs/ipcguard.so
	install -m 0755 build/ipcguardd $(DESTDIR)$(SBINDIR)/ipcguardd
	install -m 0755 build/ipcguard $(DESTDIR)$(SBINDIR)/ipcguard
	install -m 0644 build/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 packaging/ipcguardd.service $(DESTDIR)$(UNITDIR)/
	install -m 0755 examples/hardening-rules.sh $(DESTDIR)$(EXAMPLESDIR)/

clean:
	rm -rf build

# A Debian package for the installed Samba version, in build/.
deb:
	./tools/build-deb.sh

# Longer fuzzing on demand: make fuzz FUZZ_SECONDS=3600 (each target).
FUZZ_SECONDS ?= 600
.PHONY: fuzz
fuzz:
	./tools/build-sanitized.sh
	mkdir -p build/fuzz-corpus && cp tests/fuzz/corpus/* build/fuzz-corpus/
	./build/sanitized/fuzz_policy_options -max_total_time=$(FUZZ_SECONDS) \
		-max_len=4096 build/fuzz-corpus
	mkdir -p build/fuzz-corpus-rules && \
		cp tests/fuzz/corpus-rules/* build/fuzz-corpus-rules/
	./build/sanitized/fuzz_rule_fields -max_total_time=$(FUZZ_SECONDS) \
		-max_len=4096 build/fuzz-corpus-rules
	mkdir -p build/fuzz-corpus-pipe-name && \
		cp tests/fuzz/corpus-pipe-name/* build/fuzz-corpus-pipe-name/
	./build/sanitized/fuzz_pipe_name -max_total_time=$(FUZZ_SECONDS) \
		-max_len=256 build/fuzz-corpus-pipe-name
	mkdir -p build/fuzz-corpus-contexts && \
		cp tests/fuzz/corpus-contexts/* build/fuzz-corpus-contexts/
	./build/sanitized/fuzz_contexts -max_total_time=$(FUZZ_SECONDS) \
		-max_len=4096 build/fuzz-corpus-contexts

# The stateful differential fuzzer of the gate (random binds, alter
# contexts and requests through smbd and the gate to the real
# samba-dcerpcd, whose log of executed calls is the oracle), longer than
# make test's 30 s: make fuzz-gate FUZZ_SECONDS=3600.  A violation leaves
# a sequence in build/fuzz-stateful/ for stateful_fuzz.py --replay.
.PHONY: fuzz-gate
fuzz-gate: build
	$(PYTHON) tests/integration/stateful_fuzz.py --seconds $(FUZZ_SECONDS)

# The gate's integration tests with ipcguardd under valgrind; logs in
# build/valgrind/.  Fails on any valgrind error or definite leak.
# VALGRIND_EXTRA=--track-origins=yes to see where uninitialised bytes
# come from.
.PHONY: valgrind-gate
valgrind-gate: build
	./tools/valgrind-gate.sh

# The gate's integration tests with build/ipcguardd-asan (ASan + UBSan);
# reports in build/asan/.  Fails on any sanitizer report.
.PHONY: asan-gate
asan-gate: build
	./tools/asan-gate.sh
