DROP TABLE IF EXISTS bench.leads, bench.events_time, bench.events_lead;
CREATE TABLE bench.leads(id int PRIMARY KEY, industry text, employees int, country text, title text,
                         email text, attributes jsonb);
INSERT INTO bench.leads
SELECT i, ind, emp, ctry, ttl, mail,
       jsonb_build_object('industry', ind, 'employees', emp, 'country', ctry, 'title', ttl, 'email', mail)
FROM generate_series(1, :leads) AS i,
LATERAL (SELECT (ARRAY['Software', 'SaaS', 'Retail', 'Finance', 'Healthcare', 'Education', 'Manufacturing', 'Media'])[1 + abs(hashint4(i)) % 8] AS ind,
                1 + abs(hashint4(i + 1)) % 5000 AS emp,
                (ARRAY['US', 'DE', 'FR', 'GB', 'IN', 'BR', 'JP', 'CA'])[1 + abs(hashint4(i + 2)) % 8] AS ctry,
                (ARRAY['Director of Marketing', 'VP Sales', 'Engineer', 'Student', 'CTO', 'Marketing Manager', 'Analyst', 'Head of Growth'])[1 + abs(hashint4(i + 3)) % 8] AS ttl,
                'user' || i || (ARRAY['@gmail.com', '@acme.com', '@yahoo.com', '@corp.example'])[1 + abs(hashint4(i + 4)) % 4] AS mail) a;

-- Events in time order: event i happens at as_of - 400 days + i * (400 days / events).
CREATE TABLE bench.events_time(lead_id int, event_type text, occurred_at timestamptz);
INSERT INTO bench.events_time
SELECT 1 + abs(hashint4(i)) % :leads,
       (ARRAY['page_view', 'page_view', 'page_view', 'email_open', 'email_open', 'email_click', 'pricing_page',
              'download', 'webinar', 'demo_request', 'unsubscribe', 'bounce', 'form_submit', 'chat'])[1 + abs(hashint4(i + 11)) % 14],
       timestamptz :as_of - interval '400 days' + (i::float8 / :events) * interval '400 days'
FROM generate_series(1, :events) AS i;
CREATE TABLE bench.events_lead AS SELECT * FROM bench.events_time ORDER BY lead_id, occurred_at;
VACUUM ANALYZE bench.leads, bench.events_time, bench.events_lead;
