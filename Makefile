# replroute: PostgreSQL extension (PGXS) plus client library, CLI and tests.
#
#   make / make install      extension, library, header, pkg-config file, CLI
#   make installcheck        pg_regress (sql/, expected/) and TAP (test/t/)
#   make test                everything, from a fresh Debian machine (see README)
#   make demo, make bench    see README

MODULE_big = replroute
OBJS = \
	extension/node_state.o \
	extension/node_status.o \
	extension/replroute.o \
	extension/shared_memo.o \
	extension/wait_for_lsn.o
PGFILEDESC = "replroute - replica health and lag for read routing"

EXTENSION = replroute
DATA = replroute--1.0.sql

REGRESS = node_status bad_input privileges slots

# TAP tests live in test/t (the project's fixed layout), not t/.
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# Server code is held to warning-free too; PostgreSQL's own headers are not
# -Wextra clean, so only the warnings they trip are left out.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# ---------------------------------------------------------------------------
# Test entry points (see test/make_test.sh for "make test")

.PHONY: test installcheck-regress installcheck-tap check-client

test:
	@$(srcdir)/test/make_test.sh

installcheck-regress: submake $(REGRESS_PREP)
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-tap: all
	$(prove_installcheck)

# the TAP tests' shared helpers (test/perl/ReplrouteTest.pm)
PG_PROVE_FLAGS += -I $(srcdir)/test/perl
