-- lead_scoring.generate_sample_crm: determinism, exact counts, plausibility.
-- Results are asserted as booleans so that retuning a distribution does not
-- require copying new numbers into this file.
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.crm_digest(s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text; r text := '';
BEGIN
    FOREACH d IN ARRAY ARRAY['leads', 'events', 'orders', 'deals'] LOOP
        EXECUTE format('SELECT md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %I.%I t',
                       E'\n', '', s, d) INTO d;
        r := r || d;
    END LOOP;
    RETURN md5(r);
END $$;

CREATE TEMP TABLE run (name text, summary jsonb, digest text);

-- the same arguments twice, then a different seed
INSERT INTO run SELECT 'a1', lead_scoring.generate_sample_crm('sample_a', 200), pg_temp.crm_digest('sample_a');
INSERT INTO run SELECT 'a2', lead_scoring.generate_sample_crm('sample_a', 200), pg_temp.crm_digest('sample_a');
INSERT INTO run SELECT 'b', lead_scoring.generate_sample_crm('sample_b', 200, 15, 0.43), pg_temp.crm_digest('sample_b');

SELECT (SELECT digest FROM run WHERE name = 'a1') = (SELECT digest FROM run WHERE name = 'a2') AS same_seed_same_data,
       (SELECT summary FROM run WHERE name = 'a1') = (SELECT summary FROM run WHERE name = 'a2') AS same_summary,
       (SELECT digest FROM run WHERE name = 'a1') <> (SELECT digest FROM run WHERE name = 'b') AS other_seed_other_data;

-- exact counts: leads = leads, events = round(leads * events_per_lead)
SELECT name, (summary->>'leads')::int = 200 AS leads_ok, (summary->>'events')::int = 3000 AS events_ok,
       (summary->>'deals')::int BETWEEN 4 AND 60 AS deals_plausible,
       (summary->>'orders')::int >= (summary->>'deals')::int AS orders_ok
  FROM run ORDER BY name;
SELECT (SELECT count(*) FROM sample_a.leads) = 200 AS leads,
       (SELECT count(*) FROM sample_a.events) = 3000 AS events,
       (SELECT count(DISTINCT lead_id) FROM sample_a.deals) = (SELECT count(*) FROM sample_a.deals) AS one_deal_per_lead,
       (SELECT min(id) = 1 AND max(id) = 3000 FROM sample_a.events) AS dense_event_ids;
SELECT lead_scoring.generate_sample_crm('sample_b', 7, 2.5)->>'events' AS events_7_leads_2_5_each;
SELECT lead_scoring.generate_sample_crm('sample_b', 0) - 'seed' - 'as_of' AS empty;

-- the serial sequences continue after the generated ids
INSERT INTO sample_a.events (lead_id, event_type, occurred_at)
    VALUES (1, 'page_view', '2025-12-31 12:00:00+00') RETURNING id;

-- shape of the data
SELECT bool_and(e.occurred_at <= '2026-01-01 00:00:00+00') AS none_in_future,
       bool_and(e.occurred_at >= timestamptz '2026-01-01 00:00:00+00' - interval '365 days') AS within_a_year,
       bool_and(e.occurred_at >= l.created_at) AS after_lead_created,
       bool_and(e.event_type IN ('page_view','pricing_page','download','email_open','email_click','webinar',
                                 'demo_request','form_submit','unsubscribe','email_bounce','complaint')) AS known_types
  FROM sample_a.events e JOIN sample_a.leads l ON l.id = e.lead_id;
SELECT bool_and(o.ordered_at BETWEEN l.created_at AND '2026-01-01 00:00:00+00') AS orders_in_range,
       bool_and(o.amount > 0) AS positive_amounts
  FROM sample_a.orders o JOIN sample_a.leads l ON l.id = o.lead_id;
SELECT bool_and(d.won_at BETWEEN l.created_at AND '2026-01-01 00:00:00+00') AS deals_in_range
  FROM sample_a.deals d JOIN sample_a.leads l ON l.id = d.lead_id;

-- behaviour follows intent: on 2000 leads, leads that requested a demo or
-- viewed pricing in the last 30 days convert more often than the others
SELECT (lead_scoring.generate_sample_crm('sample_c', 2000)->>'events')::int = 30000 AS generated;
WITH per_lead AS (
    SELECT l.id,
           EXISTS (SELECT 1 FROM sample_c.events e WHERE e.lead_id = l.id AND e.event_type = 'demo_request') AS demo,
           EXISTS (SELECT 1 FROM sample_c.events e WHERE e.lead_id = l.id AND e.event_type = 'pricing_page'
                     AND e.occurred_at > '2025-12-02 00:00:00+00') AS pricing_30d,
           EXISTS (SELECT 1 FROM sample_c.deals d WHERE d.lead_id = l.id) AS won
      FROM sample_c.leads l)
SELECT avg(won::int) FILTER (WHERE demo) > 1.5 * avg(won::int) FILTER (WHERE NOT demo) AS demo_converts_more,
       avg(won::int) FILTER (WHERE pricing_30d) > avg(won::int) FILTER (WHERE NOT pricing_30d) AS pricing_converts_more,
       avg(won::int) BETWEEN 0.06 AND 0.18 AS base_rate_plausible
  FROM per_lead;
-- realistic mess is present
SELECT count(*) FILTER (WHERE email IS NULL) > 0 AS some_null_emails,
       count(*) FILTER (WHERE email !~ '^[^@ ]+@[^@ ]+\.[^@ ]+$') > 0 AS some_invalid_emails,
       count(*) FILTER (WHERE split_part(email, '@', 2) IN ('gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com')) > 100 AS free_mail,
       count(*) FILTER (WHERE split_part(email, '@', 2) IN ('leadrival.com', 'scorewise.io', 'funnelforge.com')) > 0 AS competitors,
       count(DISTINCT industry) >= 8 AND count(DISTINCT country) >= 8 AS variety,
       min(company_size) >= 1 AND max(company_size) <= 50000 AS size_range,
       count(*) FILTER (WHERE company_size <= 50) > count(*) FILTER (WHERE company_size > 1000) AS sizes_skewed_small,
       bool_and(props ? 'lead_source') AS props_present
  FROM sample_c.leads;

-- bad arguments
\set VERBOSITY terse
SELECT lead_scoring.generate_sample_crm('sample_b', -1);
SELECT lead_scoring.generate_sample_crm('lead_scoring', 10);
SELECT lead_scoring.generate_sample_crm('sample_b', 10, 'NaN');
SELECT lead_scoring.generate_sample_crm('sample_b', 10, 15, 'Infinity');
SELECT lead_scoring.generate_sample_crm(NULL, 10);
\set VERBOSITY default

DROP SCHEMA sample_a, sample_b, sample_c CASCADE;
