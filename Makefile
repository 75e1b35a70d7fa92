# convexlite: PGXS build.  The version lives in convexlite.control only.

EXTENSION = convexlite
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = convexlite

# The core takes untrusted input and needs no server: it also builds alone
# (make unittest) and is what the fuzzers link.
CORE_SRCS = src/core/cvx_id.c src/core/cvx_validator.c src/core/cvx_format.c \
	src/core/cvx_json_c.c src/core/cvx_claims.c src/core/cvx_token.c \
	src/core/cvx_sortkey.c
SERVER_SRCS = $(sort $(wildcard src/*.c))
OBJS = $(SERVER_SRCS:.c=.o) $(CORE_SRCS:.c=.o)

DATA = $(wildcard $(EXTENSION)--*.sql)

# pg_regress tests: sql/<name>.sql compared with expected/<name>.out
REGRESS = setup auth users messages presence files db schema query query_builder index_order mutations queries scheduler identity convex_error reinstall cron
REGRESS_OPTS = --inputdir=.

JSONC_CFLAGS := $(shell pkg-config --cflags json-c 2>/dev/null || echo -I/usr/include/json-c)
JSONC_LIBS := $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c)

PG_CFLAGS = -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter
PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/src/core $(JSONC_CFLAGS)
SHLIB_LINK = $(JSONC_LIBS) -lzip

EXTRA_CLEAN = test/unit/run_unit_tests

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: every object depends on the headers it can
# include, so a changed struct never links against stale objects.
CORE_HEADERS = $(wildcard src/core/*.h)
$(SERVER_SRCS:.c=.o) $(SERVER_SRCS:.c=.bc): src/convexlite.h $(CORE_HEADERS)
$(CORE_SRCS:.c=.o) $(CORE_SRCS:.c=.bc): $(CORE_HEADERS)

# Core unit tests: plain C with json-c, no PostgreSQL.
UNIT_CFLAGS = -std=c11 -O1 -g -Wall -Wextra -Werror -Isrc/core $(JSONC_CFLAGS)
test/unit/run_unit_tests: $(CORE_SRCS) $(wildcard src/core/*.h) $(wildcard test/unit/*.c) $(wildcard test/unit/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $(wildcard test/unit/*.c) $(CORE_SRCS) $(JSONC_LIBS)

.PHONY: unittest test demo bench stress fuzz valgrind mutation clean-tmp deb
unittest: test/unit/run_unit_tests
	test/unit/run_unit_tests

# The README's two commands, as make targets too.
test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

# The Debian package postgresql-15-convexlite of the committed HEAD, built with
# Debian's PostgreSQL tooling (debian/, pg_buildext) from a git archive in
# tmp/deb/build-<version>/; the .deb lands in tmp/deb/ (scripts/deb.sh,
# docs/install.md "Debian package").
deb:
	bash scripts/deb.sh

# Stop the throwaway clusters and remove what the scripts leave under tmp/
# (scripts/clean.sh; `bash scripts/clean.sh -n` says what it would remove).
clean-tmp:
	bash scripts/clean.sh

# The benchmark suite on a throwaway cluster: every mutation against its floor
# and its PL/pgSQL peer, uploads, the scheduler; writes bench/RESULTS.md and
# bench/throughput.png (settings: BENCH_* variables, see bench/run.sh).
bench:
	bash bench/run.sh

# Longer reliability runs than make test's: the soak with 16 clients for
# STRESS_SECONDS (default 600), more crash rounds and longer failovers
# (test/scripts/soak.sh, crash.sh, failover.sh on throwaway clusters).
stress:
	bash scripts/stress.sh

# libFuzzer with AddressSanitizer and UndefinedBehaviorSanitizer on the core
# (id codec, validator engine, upload tokens): FUZZ_SECONDS per target
# (default 600), growing the corpus in test/fuzz/corpus/ (test/fuzz/run.sh).
fuzz:
	bash test/fuzz/run.sh

# The regression suite with the server under valgrind memcheck; fails on any
# error whose stack passes through convexlite (scripts/valgrind.sh).
valgrind:
	bash scripts/valgrind.sh

# The repeatable mutation run: each deliberate bug of test/mutation/mutants in
# a scratch copy of the tree, built and tested there; every mutant must be
# caught (test/mutation/run.sh).  On demand only, not in make test or CI.
mutation:
	bash test/mutation/run.sh
