# Section 30: fit_score over every lead, jsonb form and row form, beside the
# equivalent plain-SQL CASE over the same jsonb (and over the columns), and the
# floor (sum of a bare column).
FIT_SPEC='{"fit": {"rules": [
  {"field": "industry", "in": ["software", "saas"], "points": 20},
  {"field": "employees", "between": [50, 1000], "points": 15},
  {"field": "employees", "gt": 1000, "points": 5},
  {"field": "country", "in": ["us", "ca", "gb"], "points": 10},
  {"field": "title", "contains": "director", "points": 15},
  {"field": "title", "eq": "student", "points": -20},
  {"field": "email", "matches": "@(gmail|yahoo)\\.com$", "points": -10}]}}'
bench_psql -c "INSERT INTO lead_scoring.model(name, spec) VALUES ('bench_fit', '$FIT_SPEC') ON CONFLICT (name) DO UPDATE SET spec = excluded.spec"

fit_plain() {  # $1: how to read a field, with %s for its name
  local f=$1
  # shellcheck disable=SC2059
  cat <<SQL
SELECT sum(CASE WHEN lower($(printf "$f" industry)) IN ('software', 'saas') THEN 20 ELSE 0 END
         + CASE WHEN ($(printf "$f" employees))::float8 BETWEEN 50 AND 1000 THEN 15 ELSE 0 END
         + CASE WHEN ($(printf "$f" employees))::float8 > 1000 THEN 5 ELSE 0 END
         + CASE WHEN lower($(printf "$f" country)) IN ('us', 'ca', 'gb') THEN 10 ELSE 0 END
         + CASE WHEN strpos(lower($(printf "$f" title)), 'director') > 0 THEN 15 ELSE 0 END
         + CASE WHEN lower($(printf "$f" title)) = 'student' THEN -20 ELSE 0 END
         + CASE WHEN $(printf "$f" email) ~* '@(gmail|yahoo)\.com\$' THEN -10 ELSE 0 END)
FROM bench.leads l
SQL
}

bench_time fit leads 0 "floor: sum(employees)" "SELECT sum(employees) FROM bench.leads"
bench_time fit leads 0 "ours: fit_score(spec, jsonb)" \
  "SELECT sum(lead_scoring.fit_score('$FIT_SPEC'::jsonb, attributes)) FROM bench.leads"
bench_time fit leads 0 "fit_score(name, jsonb)" \
  "SELECT sum(lead_scoring.fit_score('bench_fit', attributes)) FROM bench.leads"
bench_time fit leads 0 "fit_score(spec, row)" \
  "SELECT sum(lead_scoring.fit_score('$FIT_SPEC'::jsonb, l)) FROM bench.leads l"
bench_time fit leads 0 "plain SQL CASE over the jsonb" "$(fit_plain "l.attributes->>'%s'")"
bench_time fit leads 0 "plain SQL CASE over the columns" "$(fit_plain "l.%s")"
