# Section of bench/run.sh: rfm_breaks and rfm + stage + grade per lead, beside
# the plain-SQL way (bench/qualify.sh prints its own table).
QUALIFY_LEADS=${QUALIFY_LEADS:-$BENCH_LEADS} bash "$BENCH_DIR/qualify.sh"
