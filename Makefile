# PGXS build of the lead_scoring extension (see CMakeLists.txt for the pure C++
# core and its unit tests).
EXTENSION  = lead_scoring
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = lead_scoring
OBJS = $(patsubst %.cpp,%.o,$(sort $(wildcard src/core/*.cpp) $(wildcard src/pg/*.cpp)))

# One unversioned install script, assembled from install/NN_*.sql in order and
# copied to the versioned name; every upgrade is a small script in
# install/updates, and the full script of each earlier release is kept, frozen,
# in install/releases (so a database can be created at an old version and
# updated, which is what the upgrade test does).
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard install/updates/*--*--*.sql) $(wildcard install/releases/*.sql)

# pg_regress suites are discovered, not listed.
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
# pg_regress itself sets PGTZ=PST8PDT (it has no --timezone option).
REGRESS_OPTS = --load-extension=$(EXTENSION)

ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)

ifneq ($(wildcard test/t/*.pl),)
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl
endif

EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql results regression.diffs regression.out output_iso tmp_check

PG_CPPFLAGS = -I$(srcdir)/src
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-register -Wno-unused-parameter
SHLIB_LINK = -lre2 -lstdc++

# The JIT would inline bitcode of C++ that may throw; we ship no bitcode.
override with_llvm = no

PG_CONFIG ?= pg_config

# The PostgreSQL majors CI builds and tests (scripts/test.sh: 15 here, 17 and 18
# in clean Debian roots). Another major is refused here rather than left to fail
# later; LS_UNTESTED_PG=1 builds anyway.
SUPPORTED_PG_MAJORS = 15 17 18
ifeq ($(filter dist clean distclean,$(MAKECMDGOALS)),)
PG_MAJOR := $(shell $(PG_CONFIG) --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
ifeq ($(PG_MAJOR),)
$(error cannot run $(PG_CONFIG): set PG_CONFIG to the pg_config of the target PostgreSQL)
endif
ifeq ($(filter $(PG_MAJOR),$(SUPPORTED_PG_MAJORS)),)
ifndef LS_UNTESTED_PG
$(error PostgreSQL $(PG_MAJOR) is not supported: lead_scoring is tested on PostgreSQL $(SUPPORTED_PG_MAJORS); set LS_UNTESTED_PG=1 to build anyway)
endif
endif
endif

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PostgreSQL's own CFLAGS carry C-only warnings that g++ complains about.
override CXXFLAGS := $(filter-out -Wmissing-prototypes -Wdeclaration-after-statement -Wimplicit-fallthrough=3 -Wcast-function-type -Wformat-security,$(CXXFLAGS))

$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard install/[0-9]*.sql))
	cat $^ > $@

$(OBJS): $(wildcard src/core/*.hpp) $(wildcard src/pg/*.hpp)

.PHONY: unit bench
unit:
	cmake -S . -B build/core -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/core -j2
	cd build/core && ctest --output-on-failure

# bench: bench/run.sh on a throwaway server with the extension installed for
# PG_CONFIG (install first); BENCH_SECTIONS="60_refresh ..." runs some sections.
bench:
	PG_CONFIG=$(PG_CONFIG) bash bench/run.sh

# --- Hardening (doc/hardening.md) -------------------------------------------
# sanitize: unit tests under ASan+UBSan. fuzz / fuzz-smoke: every libFuzzer
# target in test/fuzz (NAME_fuzz.cpp) for FUZZ_SECONDS / FUZZ_SMOKE_SECONDS each,
# FUZZ_JOBS at a time. valgrind: the pg_regress suite on a server run under
# valgrind memcheck.
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_TARGETS = $(patsubst test/fuzz/%_fuzz.cpp,%,$(sort $(wildcard test/fuzz/*_fuzz.cpp)))

.PHONY: sanitize fuzz fuzz-smoke fuzz-build valgrind
sanitize:
	cmake -S . -B build/sanitize -DLS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1" >/dev/null
	cmake --build build/sanitize -j2 --target unit_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 build/sanitize/unit_tests --gtest_brief=1

fuzz-build:
	cmake -S . -B build/fuzz -DLS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/fuzz -j2 --target $(addsuffix _fuzz,$(FUZZ_TARGETS))

fuzz: fuzz-build
	test/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	test/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

valgrind:
	PG_CONFIG=$(PG_CONFIG) scripts/valgrind.sh

# --- Distribution (doc/packaging.md) ------------------------------------------
# dist: the PGXN distribution, lead_scoring-VERSION.zip, from the committed tree
# (git archive: what is not committed is not shipped).
.PHONY: dist
dist:
	git archive --format=zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(EXTENSION)-$(EXTVERSION).zip HEAD
