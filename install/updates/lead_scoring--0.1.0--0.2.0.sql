-- lead_scoring 0.1.0 -> 0.2.0: rankings v2 (doc/rank.md).
\echo Use "ALTER EXTENSION lead_scoring UPDATE TO '0.2.0'" to load this file. \quit

ALTER TABLE lead_scoring.refresh_log ADD COLUMN rows_written bigint;
ALTER TABLE lead_scoring.refresh_state ADD COLUMN tick_start timestamptz, ADD COLUMN next_due timestamptz;

-- install/97_comments.sql
COMMENT ON TABLE lead_scoring.model IS 'Lead scoring models: a name and a JSON spec (see doc/foundation.md)';
