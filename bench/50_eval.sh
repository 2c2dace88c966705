# Section of bench/run.sh: auc beside the plain-SQL rank-sum, and logistic_fit
# (bench/eval.sh prints its own table). Sizes follow BENCH_EVENTS / BENCH_LEADS.
AUC_ROWS=${AUC_ROWS:-$BENCH_EVENTS} FIT_ROWS=${FIT_ROWS:-$BENCH_LEADS} bash "$BENCH_DIR/eval.sh"
