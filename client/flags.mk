# flags.mk: the compiler settings the library (client/Makefile) and the
# CLI (client/cli/Makefile) share; included by both.

CC ?= cc
CFLAGS ?= -O2 -g
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I`pg_config --includedir`)
PQ_LIBS := $(shell pkg-config --libs libpq 2>/dev/null || echo -lpq)
WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2
# warnings are errors only where asked for (the project's CI: WERROR=1)
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
