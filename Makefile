# pg_mlops: built with PGXS.
#
#   make            build the library and the install script
#   make install    install into the PostgreSQL found by pg_config
#   make demo       set up a fresh machine, run the analyst-to-engineer demo
#   make test       set up a fresh machine, run pg_regress + pgTAP + scripted tests
#                   (with the randomized test/fuzz_clean.sh and test/fuzz_train.sh; FUZZ=0 leaves them out)
#   make fuzz       only the randomized test (FUZZ_CALLS, FUZZ_SEED)
#   make sanitize   pg_regress (FUZZ=1: and the fuzz test) on an ASan+UBSan build

EXTENSION   = pg_mlops
FUZZ       ?= 1
EXTVERSION  = 0.4.0
MODULE_big  = pg_mlops
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/*/*.c)))
DATA_built  = extension/$(EXTENSION)--$(EXTVERSION).sql
# Older releases' install scripts are kept frozen (CREATE EXTENSION ... VERSION
# '0.1.0' then ALTER EXTENSION ... UPDATE is how upgrades are tested).
DATA        = $(filter-out $(DATA_built),$(wildcard extension/$(EXTENSION)--*.sql))

# pg_regress files run in this order in one database (sql/, expected/).
REGRESS      = setup project registry train train_trees errors hostile_names impute impute_errors impute_auto impute_blend impute_chain_cat impute_knn_nan datetime_zones clean recipes large csv_import crash meaning numtext unchanged impute_values large_compare recipe_access security linear_agg learners review score_blocks evaluate automl pmml forecast impute_forest jobs review2 review3 workflow drift bi_views tree_scoring score_direct api api_keys report train_groups review4 train_recipe train_recipe2 train_recipe3 review5 review6 review7 extension review8 fuzzhunt review9 review10 review11 review12 review13 review14 review15 review16 review17 review18 review19 review20 review21
REGRESS_OPTS = --inputdir=. --dbname=contrib_regression

# PostgreSQL's headers are system headers to us: -Wextra then judges only
# our own code (GCC ignores the later -I for the same directories).
PG_CPPFLAGS = -Isrc -DPG_MLOPS_VERSION=\"$(EXTVERSION)\" -I/usr/include/libxml2 \
              -isystem $(shell $(PG_CONFIG) --includedir-server 2>/dev/null) \
              -isystem $(shell $(PG_CONFIG) --includedir 2>/dev/null)/postgresql/internal
PG_CFLAGS   = -Wall -Wextra -Werror
SHLIB_LINK  = -lopenblas -lxml2 -lcsv -lmicrohttpd -lm

EXTRA_CLEAN = results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
# On a fresh machine the server headers are not there yet: `make demo` and
# `make test` install them first (scripts/deps.sh), then re-run make.
all install installcheck:
	@echo "PostgreSQL 15 server development files are missing: run 'make deps' first"; exit 1
endif

# PGXS does not track header dependencies: rebuild every object when a
# header changes, so no object is left with an old struct layout.
$(OBJS): $(wildcard src/*.h src/*/*.h)

# The install script is the concatenation of its split sources, in order.
extension/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard extension/src/*.sql))
	cat $^ > $@

.PHONY: deps demo test fuzz sanitize
deps:
	bash scripts/deps.sh

demo: deps
	$(MAKE) all
	$(MAKE) install
	bash scripts/cluster.sh bash scripts/demo.sh

test: deps
	$(MAKE) all
	$(MAKE) install
	FUZZ=$(FUZZ) bash scripts/cluster.sh bash scripts/run-tests.sh

fuzz: deps
	$(MAKE) all
	$(MAKE) install
	FUZZ=1 bash scripts/cluster.sh prove -v test/fuzz_clean.sh test/fuzz_train.sh

sanitize: deps
	FUZZ=$(FUZZ) bash scripts/sanitize.sh
