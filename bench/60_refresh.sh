# Section of bench/run.sh: full and incremental refresh beside the plain-SQL
# pipeline and the floor (bench/refresh.sh prints its own table).
LEADS=${LEADS:-$BENCH_LEADS} EVENTS=${EVENTS:-$BENCH_EVENTS} KEEP=0 bash "$BENCH_DIR/refresh.sh"
