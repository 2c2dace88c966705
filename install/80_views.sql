-- BI views over the rankings (doc/rank.md). Both read small central tables that
-- refresh keeps in the same transaction as the ranking itself (the funnel by
-- delta, the leaderboard when the leads written reach it), so they always match
-- the rankings readers see, whatever each model's lead_id type.
-- Both hold every model's rows and filter them by the model's owner, so both
-- are security barriers: a caller's own quals (a cheap function of theirs, a
-- cast that fails and quotes its input) run only on rows the filter kept.

CREATE VIEW lead_scoring.leaderboard WITH (security_barrier) AS
SELECT e.model, e.lead_id, e.rank, e.score, e.fit, e.activity, e.grade, e.stage, e.reasons, e.as_of
FROM lead_scoring.leaderboard_entries e
-- the view runs with its owner's rights: show a model's leads only to members of its owner role
WHERE EXISTS (SELECT FROM lead_scoring.model m
              WHERE m.name OPERATOR(pg_catalog.=) e.model AND pg_catalog.pg_has_role(m.owner, 'USAGE'));
COMMENT ON VIEW lead_scoring.leaderboard IS
    'The best leads of every model (top lead_scoring.leaderboard_size per model at its last refresh) with their reasons: matched fit rules and activity points per event type';

CREATE VIEW lead_scoring.funnel WITH (security_barrier) AS
SELECT f.model, f.stage, f.position, f.leads,
       -- leads at this stage or further down the funnel
       CASE WHEN f.position OPERATOR(pg_catalog.>=) 0 THEN
           pg_catalog.sum(f.leads) FILTER (WHERE f.position OPERATOR(pg_catalog.>=) 0)
               OVER (PARTITION BY f.model ORDER BY f.position DESC ROWS UNBOUNDED PRECEDING)::bigint END AS reached,
       -- share of the leads that reached this stage that also reached the next one
       CASE WHEN f.position OPERATOR(pg_catalog.>=) 0 THEN
           (pg_catalog.sum(f.leads) FILTER (WHERE f.position OPERATOR(pg_catalog.>=) 0)
                OVER (PARTITION BY f.model ORDER BY f.position DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))::float8
           OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(f.leads) FILTER (WHERE f.position OPERATOR(pg_catalog.>=) 0)
                OVER (PARTITION BY f.model ORDER BY f.position DESC ROWS UNBOUNDED PRECEDING), 0)::float8 END AS to_next_stage,
       f.converted,
       f.converted::float8 OPERATOR(pg_catalog./) NULLIF(f.leads, 0)::float8 AS conversion_rate,
       f.as_of
FROM lead_scoring.funnel_counts f
WHERE EXISTS (SELECT FROM lead_scoring.model m
              WHERE m.name OPERATOR(pg_catalog.=) f.model AND pg_catalog.pg_has_role(m.owner, 'USAGE'));
COMMENT ON VIEW lead_scoring.funnel IS
    'Leads per stage per model at its last refresh: reached (this stage or further), to_next_stage (share that got further), converted and conversion_rate (when source.conversions is mapped)';

GRANT SELECT ON lead_scoring.leaderboard, lead_scoring.funnel TO PUBLIC;
