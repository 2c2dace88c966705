# PGXS build of the lead_scoring extension (see CMakeLists.txt for the pure C++
# core and its unit tests).
EXTENSION  = lead_scoring
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = lead_scoring
OBJS = $(patsubst %.cpp,%.o,$(sort $(wildcard src/core/*.cpp) $(wildcard src/pg/*.cpp)))

# One unversioned install script, assembled from install/NN_*.sql in order and
# copied to the versioned name; every upgrade is a small script in install/updates.
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard install/updates/*--*--*.sql)

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

bench:
	bash bench/run.sh
