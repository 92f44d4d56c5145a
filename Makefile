# replroute: PostgreSQL extension (PGXS) plus client library, CLI and tests.
#
#   make / make install      extension, library, header, pkg-config file, CLI
#                            (WITH_CLIENT=0: the extension alone)
#   make uninstall           removes all of that again
#   make installcheck        pg_regress (sql/, expected/) and TAP (test/t/)
#   make test                everything, from a fresh Debian machine (see README)
#   make test-versions       server-side suites on PostgreSQL 17, 18, 19
#   make deb                 Debian packages, in build/deb (doc/packaging.md)
#   make demo, make bench    see README
#
# WERROR=1 turns warnings into errors (the project's own CI sets it; a
# user's newer compiler must not fail the build over a new warning).

MODULE_big = replroute
OBJS = \
	extension/node_state.o \
	extension/node_status.o \
	extension/replroute.o \
	extension/sampler.o \
	extension/shared_state.o \
	extension/wait_for_lsn.o
PGFILEDESC = "replroute - replica health and lag for read routing"

EXTENSION = replroute
DATA = replroute--1.0.sql replroute--1.0--1.1.sql

# expected/*_1.out: the same output as PostgreSQL 18 words it (its
# out-of-range messages for settings name the unit on both bounds);
# expected/*_2.out: as PostgreSQL 19 words it besides (a function or
# procedure not found gets a DETAIL saying why no candidate matched)
REGRESS = node_status bad_input privileges slots hostile upgrade

# TAP tests live in test/t (the project's fixed layout), not t/.
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# Server code is held to warning-free too; PostgreSQL's own headers are not
# -Wextra clean, so only the warnings they trip are left out.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers
ifeq ($(WERROR),1)
PG_CFLAGS += -Werror
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# pg_buildext builds out of tree (VPATH, one build-<major> directory per
# PostgreSQL major, see debian/rules): the objects' subdirectory must exist.
ifneq ($(srcdir),.)
$(shell mkdir -p extension)
endif

# ---------------------------------------------------------------------------
# The client library, CLI and C test programs (own Makefiles: they are not
# server code and are built with their own, stricter flags).  The test
# programs (sanitizers, ThreadSanitizer with clang) are built by the test
# targets only, never by "all" or "install".

PREFIX ?= /usr/local
export PREFIX

# WITH_CLIENT=0: the extension alone (a database server that needs no
# client; debian/rules builds the client once, not per PostgreSQL major).
WITH_CLIENT ?= 1

.PHONY: client client-install client-uninstall client-clean test-programs deb

ifeq ($(WITH_CLIENT),1)
all: client
install: client-install
uninstall: client-uninstall
clean: client-clean
endif

client:
	$(MAKE) -C client

test-programs: client
	$(MAKE) -C test

client-install: client
	$(MAKE) -C client install
	@if [ "$$(id -u)" = 0 ] && [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

client-uninstall:
	$(MAKE) -C client uninstall
	@if [ "$$(id -u)" = 0 ] && [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

client-clean:
	$(MAKE) -C client clean
	$(MAKE) -C test clean
	$(MAKE) -C test/bench clean

# ---------------------------------------------------------------------------
# Test entry points (see test/make_test.sh for "make test")

.PHONY: test test-versions installcheck-regress installcheck-tap check-client \
	check-fuzz fuzz demo bench

test:
	@$(srcdir)/test/make_test.sh

# PostgreSQL 17, 18 and 19 from Debian's source packages, cached between
# runs, and the server-side suites on each (test/versions/test_versions.sh)
test-versions:
	@$(srcdir)/test/versions/test_versions.sh

demo:
	@$(srcdir)/examples/demo/make_demo.sh

# Debian packages (pg_buildext): build/deb/*.deb, see doc/packaging.md
deb:
	@$(srcdir)/tools/make_deb.sh

# benchmarks: figures on stdout, see BENCHMARKS.md
bench:
	@$(srcdir)/test/bench/run_bench.sh

# libFuzzer targets for the client's parsers (test/fuzz/README.md)
fuzz:
	$(MAKE) -C test/fuzz fuzz

# the bounded fuzz run of "make test": about 20 s, fails on any crash
check-fuzz:
	$(MAKE) -C test/fuzz fuzz-check

installcheck: all test-programs

installcheck-regress: submake $(REGRESS_PREP)
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-tap: all test-programs
	$(prove_installcheck)

# server-less client tests, under AddressSanitizer and UBSan, and the
# library's exported symbols (only the public API).  The number parsers are
# also tested in a comma-decimal locale, compiled here into a scratch
# directory (localedef, Debian's "locales" package; no root needed): without
# it that one test says SKIP and why.
check-client: test-programs
	@locdir=$$(mktemp -d); loc=''; \
	if localedef -i de_DE -f UTF-8 "$$locdir/de_DE.UTF-8" >/dev/null 2>&1; then \
		loc=de_DE.UTF-8; \
	else echo "check-client: localedef could not build de_DE.UTF-8 (package locales): the comma-decimal test is skipped"; fi; \
	cd test && LOCPATH="$$locdir" RR_TEST_COMMA_LOCALE="$$loc" LSAN_OPTIONS=suppressions=lsan.supp \
		$(PROVE) $(PROVE_FLAGS) --exec '' ./unit_client; \
	rc=$$?; rm -rf "$$locdir"; exit $$rc
	@bad=$$(nm -D --defined-only client/libreplroute.so.1 | awk '{print $$3}' | \
		grep -v -e '^RR' -e '^REPLROUTE_1$$' || true); \
	if [ -n "$$bad" ]; then echo "libreplroute exports non-API symbols: $$bad"; exit 1; \
	else echo "libreplroute exports only RR* symbols"; fi

# the TAP tests' shared helpers (test/perl/ReplrouteTest.pm)
PG_PROVE_FLAGS += -I $(srcdir)/test/perl
