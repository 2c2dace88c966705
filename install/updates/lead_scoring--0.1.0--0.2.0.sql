-- lead_scoring 0.1.0 -> 0.2.0: rankings v2 (doc/rank.md).
\echo Use "ALTER EXTENSION lead_scoring UPDATE TO '0.2.0'" to load this file. \quit

ALTER TABLE lead_scoring.refresh_log ADD COLUMN rows_written bigint;
ALTER TABLE lead_scoring.refresh_state ADD COLUMN tick_start timestamptz, ADD COLUMN next_due timestamptz;

-- Rankings v2 (doc/rank.md): the count of qualified leads the _ranked views
-- read, and the RFM cut points kept between refreshes. A ranking table of 0.1.0
-- is updated by its model's next refresh (rank and percentile dropped,
-- refreshed_at renamed changed_at, the _ranked view created), which is full.
ALTER TABLE lead_scoring.refresh_state ADD COLUMN qualified bigint, ADD COLUMN rfm_breaks float8[];
COMMENT ON TABLE lead_scoring.refresh_log IS
    'One row per lead_scoring.refresh call that wrote something (and per failed background refresh); rows older than lead_scoring.log_retention are deleted by refresh';
COMMENT ON FUNCTION lead_scoring.refresh(text, timestamptz, boolean) IS
    'Brings the ranking of a model in its target table up to date at as_of, writing only the rows that changed (doc/rank.md); returns the ranking rows inserted, updated or deleted, NULL when skipped because another refresh of the model is running';
