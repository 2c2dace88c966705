-- Sample CRM data (doc/sample.md): a deterministic, set-based generator of
-- leads, events, orders and deals for demos, tests and benchmarks.
--
-- Determinism: every value is a pure function of (seed, row key). A row's random
-- numbers come from pg_catalog.hashint8extended(key, stream_seed), where each
-- stream_seed is itself hashint8extended(stream_number, hash(seed)). Nothing
-- depends on random(), on row order or on the plan, so the same arguments give
-- byte-identical tables on every run, with any number of workers. (PostgreSQL
-- keeps these hash functions stable across versions because hash partitioning
-- depends on them; results could differ only on a big-endian machine.)

CREATE FUNCTION lead_scoring.generate_sample_crm(
    target_schema   text        DEFAULT 'crm',
    leads           int         DEFAULT 20000,
    events_per_lead float8      DEFAULT 15,
    seed            float8      DEFAULT 0.42,
    as_of           timestamptz DEFAULT '2026-01-01 00:00:00+00')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $fn$
DECLARE
    s            text;     -- quoted schema name
    base         bigint;   -- hash of the seed
    total_events bigint;
    n_leads      bigint;
    n_events     bigint;
    n_orders     bigint;
    n_deals      bigint;
    q            text;
    -- value lists, repeated by weight so that a uniform pick is a weighted pick
    industries   text[];
    titles       text[];
    countries    text[];
    sources      text[];
    first_names  text[] := ARRAY['james','mary','john','patricia','robert','jennifer','michael','linda',
                                 'david','elizabeth','william','barbara','richard','susan','joseph','jessica',
                                 'thomas','sarah','charles','karen','daniel','nancy','matthew','lisa',
                                 'anna','lukas','sophie','pierre','camille','raj','priya','wei','yuki',
                                 'carlos','ana','lars','emma','noah','olivia','mohammed','fatima','ivan'];
    last_names   text[] := ARRAY['smith','johnson','williams','brown','jones','garcia','miller','davis',
                                 'rodriguez','martinez','hernandez','lopez','wilson','anderson','taylor','thomas',
                                 'moore','martin','jackson','lee','white','harris','clark','lewis','walker',
                                 'mueller','schmidt','schneider','dubois','laurent','patel','sharma','wang',
                                 'li','tanaka','sato','silva','santos','jansen','de vries','nilsson','kowalski'];
    freemail     text[] := ARRAY['gmail.com','gmail.com','gmail.com','gmail.com','yahoo.com','yahoo.com',
                                 'hotmail.com','outlook.com','outlook.com','icloud.com','gmx.de','aol.com',
                                 'protonmail.com','mail.ru','qq.com'];
    competitors  text[] := ARRAY['leadrival.com','scorewise.io','funnelforge.com'];
    syllables    text[] := ARRAY['acme','nova','blue','peak','data','cloud','bright','quant','hyper','green',
                                 'iron','swift','omni','terra','vertex','lumen','core','nimbus','atlas','pixel',
                                 'zen','rapid','stellar','north','delta','echo','fusion','orbit','prime','sigma',
                                 'river','solar','apex','cobalt','matrix','vista','harbor','summit','beacon','flux'];
    suffixes     text[] := ARRAY['Inc','Inc','Inc','LLC','LLC','Ltd','GmbH','SA','Corp','Group','Labs',
                                 'Systems','Technologies','Partners','Solutions'];
BEGIN
    IF target_schema IS NULL OR leads IS NULL OR events_per_lead IS NULL OR seed IS NULL OR as_of IS NULL THEN
        RAISE EXCEPTION 'generate_sample_crm: arguments must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF leads < 0 THEN
        RAISE EXCEPTION 'generate_sample_crm: leads must be >= 0, got %', leads USING ERRCODE = '22023';
    END IF;
    IF events_per_lead < 0 OR events_per_lead IN ('Infinity'::float8, 'NaN'::float8) THEN
        RAISE EXCEPTION 'generate_sample_crm: events_per_lead must be a finite number >= 0, got %', events_per_lead
            USING ERRCODE = '22023';
    END IF;
    IF seed IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8) THEN
        RAISE EXCEPTION 'generate_sample_crm: seed must be finite' USING ERRCODE = '22023';
    END IF;
    IF as_of IN ('infinity'::timestamptz, '-infinity'::timestamptz) THEN
        RAISE EXCEPTION 'generate_sample_crm: as_of must be finite' USING ERRCODE = '22023';
    END IF;
    IF target_schema IN ('lead_scoring', 'pg_catalog', 'information_schema', 'pg_toast')
       OR target_schema LIKE 'pg\_temp%' OR target_schema LIKE 'pg\_toast%' THEN
        RAISE EXCEPTION 'generate_sample_crm: refusing to write sample tables into schema "%"', target_schema
            USING ERRCODE = '42939', HINT = 'Use a schema of your own, e.g. ''crm''.';
    END IF;

    s := format('%I', target_schema);
    base := hashtextextended(encode(float8send(seed), 'hex'), 0);
    total_events := round(leads::float8 * events_per_lead)::bigint;

    SELECT array_agg(v ORDER BY o, n) INTO industries
      FROM unnest(ARRAY['Software','Finance','Healthcare','Retail','Manufacturing','Education','Government',
                        'Media','Telecommunications','Energy','Consulting','Nonprofit', NULL],
                  ARRAY[22, 12, 11, 10, 10, 8, 5, 5, 4, 3, 6, 2, 2]) WITH ORDINALITY AS t(v, w, o),
           generate_series(1, w) AS n;
    SELECT array_agg(v ORDER BY o, n) INTO titles
      FROM unnest(ARRAY['CEO','CTO','CFO','Founder','VP Sales','VP Marketing','VP Engineering',
                        'Director of Marketing','Director of Sales','Head of Operations','IT Director',
                        'Manager','Marketing Manager','Sales Manager','Engineer','Software Engineer',
                        'Analyst','Consultant','Student','Intern', NULL],
                  ARRAY[3, 3, 2, 3, 4, 4, 3, 6, 5, 4, 4, 13, 8, 7, 9, 8, 8, 4, 4, 3, 3]) WITH ORDINALITY AS t(v, w, o),
           generate_series(1, w) AS n;
    SELECT array_agg(v ORDER BY o, n) INTO countries
      FROM unnest(ARRAY['US','GB','DE','FR','CA','IN','BR','AU','NL','ES', NULL],
                  ARRAY[30, 10, 10, 7, 7, 10, 6, 5, 5, 5, 5]) WITH ORDINALITY AS t(v, w, o),
           generate_series(1, w) AS n;
    SELECT array_agg(v ORDER BY o, n) INTO sources
      FROM unnest(ARRAY['organic_search','paid_search','referral','webinar','event','outbound','partner','social'],
                  ARRAY[28, 18, 10, 10, 8, 12, 6, 8]) WITH ORDINALITY AS t(v, w, o),
           generate_series(1, w) AS n;

    -- CREATE SCHEMA checks CREATE on the database even when the schema exists:
    -- only create it when missing, so a user may fill a schema of their own.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) target_schema) THEN
        EXECUTE format('CREATE SCHEMA %s', s);
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %1$s.events, %1$s.orders, %1$s.deals, %1$s.leads', s);

    EXECUTE format($ddl$
        CREATE TABLE %1$s.leads (
            id             bigint PRIMARY KEY,
            email          text,
            company        text,
            industry       text,
            job_title      text,
            company_size   int,
            country        text,
            annual_revenue numeric,
            budget         numeric,
            created_at     timestamptz,
            props          jsonb);
        CREATE TABLE %1$s.events (
            id          bigserial PRIMARY KEY,
            lead_id     bigint NOT NULL,
            event_type  text NOT NULL,
            occurred_at timestamptz NOT NULL);
        CREATE TABLE %1$s.orders (
            id         bigserial PRIMARY KEY,
            lead_id    bigint,
            ordered_at timestamptz,
            amount     numeric);
        CREATE TABLE %1$s.deals (
            lead_id bigint,
            won_at  timestamptz)
        $ddl$, s);

    -- Macro U(k, expr): the k-th uniform [0,1) stream evaluated at integer key expr.
    -- The stream seed folds to a constant at plan time.

    -- Leads. A company (shared by about three leads) fixes industry, size, country
    -- and revenue; a lead fixes person, e-mail, title and properties. "intent",
    -- the latent buying intent that also drives events and deals, is
    -- power(U(20, id), 1.7) and is never stored.
    q := $q$
    INSERT INTO {s}.leads
    SELECT id,
           CASE WHEN u_mail < 0.02 THEN NULL
                WHEN u_mail < 0.04 THEN (ARRAY[first || '.' || last || '@',
                                               first || ' ' || last || '@' || cdomain,
                                               first || '.' || last || '.' || cdomain,
                                               'n/a',
                                               first || '@@' || cdomain])[1 + floor(u_mail2 * 5)::int]
                WHEN u_mail < 0.055 THEN first || '.' || last || '@' || $9[1 + floor(u_mail2 * cardinality($9))::int]
                WHEN u_mail < 0.26 THEN first || '.' || last || (floor(u_mail2 * 100))::int || '@'
                                        || $8[1 + floor(u_mail3 * cardinality($8))::int]
                WHEN u_mail2 < 0.5 THEN first || '.' || last || '@' || cdomain
                ELSE left(first, 1) || last || '@' || cdomain
           END,
           company, industry,
           CASE WHEN u_case < 0.05 THEN lower(title) ELSE title END,
           company_size, country,
           CASE WHEN company_size IS NULL OR u_rev_null < 0.15 THEN NULL
                ELSE round((company_size::float8 * 120000 * exp((u_rev - 0.5) * 2))::numeric, -3) END,
           CASE WHEN u_budget_null < 0.45 THEN NULL
                ELSE round((1000 * exp(u_budget * 3 + intent * 2) * (1 + ln(coalesce(company_size, 10)) / 3))::numeric, -2) END,
           $1 - created_secs * interval '1 second',
           jsonb_strip_nulls(jsonb_build_object(
               'lead_source', $12[1 + floor(u_source * cardinality($12))::int],
               'plan_interest', CASE WHEN company_size >= 1000 AND u_plan < 0.6 THEN 'enterprise'
                                     WHEN u_plan < 0.45 THEN 'starter'
                                     WHEN u_plan < 0.85 THEN 'pro'
                                     ELSE 'enterprise' END,
               'newsletter', u_news < 0.35,
               'seats', CASE WHEN u_seats < 0.3 THEN NULL
                             ELSE greatest(1, round(coalesce(company_size, 5) * (0.02 + 0.2 * u_seats)))::int END,
               'timeline', CASE WHEN u_time < 0.3 THEN NULL
                                WHEN intent + 0.3 * u_time > 0.65 THEN 'this_quarter'
                                WHEN intent + 0.3 * u_time > 0.45 THEN 'next_quarter'
                                WHEN intent + 0.3 * u_time > 0.3 THEN 'this_year'
                                ELSE 'no_plans' END))
      FROM (
        SELECT p.*,
               initcap(syl1 || syl2 || syl3) || ' ' || $11[1 + floor(U(34, cno) * cardinality($11))::int] AS company,
               syl1 || syl2 || syl3 || (ARRAY['.com','.com','.com','.io','.net','.co'])[1 + floor(U(35, cno) * 6)::int] AS cdomain
          FROM (
            SELECT g.id, c.cno,
                   power(U(20, g.id), 1.7) AS intent,
                   $3[1 + floor(U(40, c.cno) * cardinality($3))::int] AS industry,
                   CASE WHEN U(41, c.cno) < 0.04 THEN NULL
                        ELSE least(50000, greatest(1, floor(exp(power(U(42, c.cno), 2.2) * ln(50000.0)))))::int END AS company_size,
                   $5[1 + floor(U(43, c.cno) * cardinality($5))::int] AS country,
                   U(44, c.cno) AS u_rev,
                   $10[1 + floor(U(31, c.cno) * cardinality($10))::int] AS syl1,
                   $10[1 + floor(U(32, c.cno) * cardinality($10))::int] AS syl2,
                   CASE WHEN U(33, c.cno) < 0.5 THEN '' ELSE $10[1 + floor(U(36, c.cno) * cardinality($10))::int] END AS syl3,
                   $4[1 + floor(U(2, g.id) * cardinality($4))::int] AS title,
                   $6[1 + floor(U(8, g.id) * cardinality($6))::int] AS first,
                   $7[1 + floor(U(9, g.id) * cardinality($7))::int] AS last,
                   U(3, g.id) AS u_case,
                   U(10, g.id) AS u_mail, U(11, g.id) AS u_mail2, U(12, g.id) AS u_mail3,
                   U(13, g.id) AS u_rev_null, U(14, g.id) AS u_budget_null, U(22, g.id) AS u_budget,
                   floor(U(15, g.id) * 63072000)::bigint AS created_secs,
                   U(16, g.id) AS u_source, U(17, g.id) AS u_plan, U(18, g.id) AS u_news,
                   U(19, g.id) AS u_seats, U(21, g.id) AS u_time
              FROM generate_series(1::bigint, $2) AS g(id),
                   LATERAL (SELECT floor(power(U(7, g.id), 1.3) * greatest(1, $2 / 3))::bigint AS cno) AS c
          ) p
      ) l
    $q$;
    q := lead_scoring._sample_expand(q, s, base);
    EXECUTE q USING as_of, leads::bigint, industries, titles, countries, first_names, last_names,
                    freemail, competitors, syllables, suffixes, sources, total_events;
    GET DIAGNOSTICS n_leads = ROW_COUNT;

    -- Deals: conversion probability rises with latent intent and with fit
    -- (seniority, industry, company size); bad e-mails, competitors and
    -- students/interns almost never convert.
    q := $q$
    INSERT INTO {s}.deals (lead_id, won_at)
    SELECT id, created_at + floor(U(51, id) * extract(epoch FROM $1 - created_at)::float8) * interval '1 second'
      FROM (
        SELECT l.id, l.created_at,
               CASE WHEN l.email IS NULL OR l.email !~ '^[^@ ]+@[^@ ]+\.[^@ ]+$'
                         OR split_part(l.email, '@', 2) = ANY ($9)
                         OR l.job_title ~* '^(student|intern)$'
                    THEN 0.003
                    ELSE 0.003 + 0.30 * power(U(20, l.id), 1.7 * 1.3)
                         + 0.07 * (0.5 * CASE WHEN l.job_title ~* '^(ceo|cto|cfo|founder|vp )' THEN 1.0
                                              WHEN l.job_title ~* '(director|head)' THEN 0.7
                                              WHEN l.job_title ~* 'manager' THEN 0.4
                                              ELSE 0.2 END
                                   + CASE WHEN l.industry IN ('Software','Finance','Healthcare') THEN 0.3
                                          WHEN l.industry IN ('Government','Education','Nonprofit') THEN 0.0
                                          ELSE 0.15 END
                                   + CASE WHEN l.company_size BETWEEN 50 AND 5000 THEN 0.2
                                          WHEN l.company_size > 5000 THEN 0.15
                                          ELSE 0.05 END)
               END AS p
          FROM {s}.leads l
      ) c
     WHERE U(50, id) < p
    $q$;
    q := lead_scoring._sample_expand(q, s, base);
    EXECUTE q USING as_of, leads::bigint, industries, titles, countries, first_names, last_names,
                    freemail, competitors, syllables, suffixes, sources, total_events;
    GET DIAGNOSTICS n_deals = ROW_COUNT;

    -- Orders (for RFM): every converted lead buys 1..13 times after winning,
    -- and about 4% of the others buy once or twice (self-serve).
    q := $q$
    INSERT INTO {s}.orders (id, lead_id, ordered_at, amount)
    SELECT row_number() OVER (ORDER BY c.lead_id, k.k), c.lead_id,
           c.start_at + floor(U(71, c.lead_id * 16 + k.k) * c.span) * interval '1 second',
           round((c.scale * (0.5 + U(73, c.lead_id * 16 + k.k)))::numeric, 2)
      FROM (
        SELECT l.id AS lead_id,
               coalesce(d.won_at, l.created_at) AS start_at,
               extract(epoch FROM $1 - coalesce(d.won_at, l.created_at))::float8 AS span,
               CASE WHEN d.lead_id IS NOT NULL THEN 1 + floor(power(U(70, l.id), 2) * 13)
                    ELSE 1 + floor(U(70, l.id) * 2) END::int AS n,
               50 * exp(U(74, l.id) * 3) * (1 + ln(coalesce(l.company_size, 10)) / 4) AS scale
          FROM {s}.leads l LEFT JOIN {s}.deals d ON d.lead_id = l.id
         WHERE d.lead_id IS NOT NULL OR U(72, l.id) < 0.04
      ) c,
      generate_series(1, c.n) AS k(k)
    $q$;
    q := lead_scoring._sample_expand(q, s, base);
    EXECUTE q USING as_of, leads::bigint, industries, titles, countries, first_names, last_names,
                    freemail, competitors, syllables, suffixes, sources, total_events;
    GET DIAGNOSTICS n_orders = ROW_COUNT;

    -- Events: exactly round(leads * events_per_lead) rows. Each lead gets a share
    -- proportional to 0.25 + 2.5 * intent (cumulative split, so the total is
    -- exact); event types and recency shift with intent. Events fall between
    -- greatest(created_at, as_of - 365 days) and as_of, never in the future.
    q := $q$
    INSERT INTO {s}.events (id, lead_id, event_type, occurred_at)
    SELECT e.id, b.id,
           CASE WHEN r < 40 THEN 'page_view'
                WHEN r < 62 THEN 'email_open'
                WHEN r < 68 + 6 * i THEN 'email_click'
                WHEN r < 71 + 11 * i THEN 'download'
                WHEN r < 72 + 25 * i THEN 'pricing_page'
                WHEN r < 74 + 29 * i THEN 'webinar'
                WHEN r < 76 + 33 * i THEN 'form_submit'
                WHEN r < 76.3 + 33 * i + 5 * i * i THEN 'demo_request'
                WHEN r < 77.5 + 31.8 * i + 5 * i * i THEN 'unsubscribe'
                WHEN r < 78.1 + 31.8 * i + 5 * i * i THEN 'email_bounce'
                ELSE 'complaint' END,
           $1 - floor(b.span * power(U(61, e.id), 1 + 3 * i)) * interval '1 second'
      FROM (
        SELECT id, i, span,
               coalesce(floor($13 * lag(cum) OVER (ORDER BY id) / tot), 0)::bigint AS e0,
               CASE WHEN id = $2 THEN $13 ELSE floor($13 * cum / tot)::bigint END AS e1
          FROM (
            SELECT id, i, span,
                   sum(0.25 + 2.5 * i) OVER (ORDER BY id) AS cum,
                   sum(0.25 + 2.5 * i) OVER () AS tot
              FROM (
                SELECT g.id, power(U(20, g.id), 1.7) AS i,
                       least(floor(U(15, g.id) * 63072000), 31536000)::float8 AS span
                  FROM generate_series(1::bigint, $2) AS g(id)
              ) a
          ) w
      ) b,
      generate_series(b.e0 + 1, b.e1) AS e(id),
      LATERAL (SELECT U(60, e.id) * (78.25 + 31.65 * b.i + 5 * b.i * b.i) AS r) AS rr
    $q$;
    q := lead_scoring._sample_expand(q, s, base);
    EXECUTE q USING as_of, leads::bigint, industries, titles, countries, first_names, last_names,
                    freemail, competitors, syllables, suffixes, sources, total_events;
    GET DIAGNOSTICS n_events = ROW_COUNT;

    EXECUTE format($ddl$
        SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(%1$L, 'id'), greatest(%2$s, 1), %2$s > 0);
        SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(%3$L, 'id'), greatest(%4$s, 1), %4$s > 0);
        CREATE INDEX ON %5$s.events (lead_id);
        CREATE INDEX ON %5$s.orders (lead_id);
        CREATE INDEX ON %5$s.deals (lead_id);
        $ddl$, s || '.events', n_events, s || '.orders', n_orders, s);
    EXECUTE format('ANALYZE %1$s.leads, %1$s.events, %1$s.orders, %1$s.deals', s);

    q := format('generated by lead_scoring.generate_sample_crm(%L, %s, %s, %s, %L)',
                target_schema, leads, events_per_lead, seed, as_of);
    EXECUTE format('COMMENT ON TABLE %s.leads IS %L', s, 'Sample leads ' || q);
    EXECUTE format('COMMENT ON TABLE %s.events IS %L', s, 'Sample lead activity events ' || q);
    EXECUTE format('COMMENT ON TABLE %s.orders IS %L', s, 'Sample orders ' || q);
    EXECUTE format('COMMENT ON TABLE %s.deals IS %L', s, 'Sample won deals (conversions) ' || q);

    RETURN jsonb_build_object(
        'schema', target_schema,
        'leads', n_leads,
        'events', n_events,
        'orders', n_orders,
        'deals', n_deals,
        'conversion_rate', CASE WHEN n_leads > 0 THEN round(n_deals::numeric / n_leads, 4) END,
        'seed', seed,
        'as_of', as_of);
END
$fn$;

COMMENT ON FUNCTION lead_scoring.generate_sample_crm(text, int, float8, float8, timestamptz) IS
    'Creates (drops first) deterministic sample tables leads, events, orders and deals in target_schema; returns their row counts. Same arguments give identical data (hash-based, plan-independent).';

-- Internal: expands the U(k, key) macro and the {s} schema placeholder of a
-- generate_sample_crm query. U(k, key) becomes a uniform float8 in [0, 1) from
-- the low 53 bits of hashint8extended(key, hashint8extended(k, base)).
CREATE FUNCTION lead_scoring._sample_expand(q text, s text, base bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT pg_catalog.replace(
             pg_catalog.regexp_replace(q, 'U\((\d+), *([^()]+)\)',
               '((pg_catalog.hashint8extended((\2)::int8, pg_catalog.hashint8extended(\1, ' || base
               || ')) OPERATOR(pg_catalog.&) 9007199254740991)::float8 OPERATOR(pg_catalog./) 9007199254740992.0)', 'g'),
             '{s}', s)
$fn$;
COMMENT ON FUNCTION lead_scoring._sample_expand(text, text, bigint) IS
    'Internal to generate_sample_crm: expands its U(stream, key) random-number macro and schema placeholder';
