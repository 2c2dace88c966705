#!/usr/bin/env bash
# The reference check (suite "reference" of scripts/test.sh): every function,
# view and GUC of the installed extension has a row in README.md's reference
# table, every function, view and table has a COMMENT ON, and every relative
# link of README.md, doc/*.md and bench/README.md resolves (scripts/check_links.pl).
#   PG_CONFIG=/path/to/pg_config scripts/check_reference.sh [README]
# It creates the extension on a throwaway server (scripts/pg_tmp.sh) and LOADs
# the library, so the GUCs it defines exist. Functions whose names begin with
# "_" are internal (trigger, aggregate-support and helper functions) and need a
# comment but no reference row. Exit status 1 lists what is missing.
set -uo pipefail

cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-pg_config}
readme=${1:-README.md}
[[ -r $readme ]] || { echo "check_reference: cannot read $readme" >&2; exit 2; }

# The reference: from "## Reference" to the next second-level heading.
reference=$(awk '/^## /{inref = ($0 == "## Reference")} inref' "$readme")
[[ -n $reference ]] || { echo "check_reference: no \"## Reference\" section in $readme" >&2; exit 1; }

missing=()
while IFS= read -r line; do missing+=("$line"); done \
  < <(perl scripts/check_links.pl "$readme" doc/*.md bench/README.md)

unset PGHOST PGPORT PGUSER PGDATABASE LS_PGTMP
env_line=$(scripts/pg_tmp.sh start) || { echo "check_reference: could not start a server" >&2; exit 2; }
eval "$env_line"
trap 'scripts/pg_tmp.sh stop "$LS_PGTMP"' EXIT
psql=("$("$PG_CONFIG" --bindir)/psql" -X -q -At -v ON_ERROR_STOP=1)

# One line per object: KIND<tab>NAME<tab>HAS_DESCRIPTION. KIND is function,
# view, table or guc; objects are those the extension owns (pg_depend 'e').
listing=$("${psql[@]}" <<'SQL'
CREATE EXTENSION lead_scoring;
LOAD 'lead_scoring';
WITH ext AS (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'lead_scoring'),
members AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext
    WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT 'function', p.proname,
       pg_catalog.bool_and(pg_catalog.obj_description(p.oid, 'pg_proc') IS NOT NULL)
FROM members m JOIN pg_catalog.pg_proc p ON m.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = m.objid
GROUP BY p.proname
UNION ALL
SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END, c.relname,
       pg_catalog.obj_description(c.oid, 'pg_class') IS NOT NULL
FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::regclass AND c.oid = m.objid
WHERE c.relkind IN ('r', 'p', 'v', 'm')
UNION ALL
SELECT 'guc', name, coalesce(short_desc, '') <> ''
FROM pg_catalog.pg_settings WHERE name LIKE 'lead\_scoring.%'
ORDER BY 1, 2;
SQL
) || { echo "check_reference: could not list the extension's objects" >&2; exit 2; }

counted=0
while IFS=$'\t' read -r kind name commented; do
  [[ -n $kind ]] || continue
  counted=$((counted + 1))
  case $kind in
    function) needs_row=$([[ $name == _* ]] && echo || echo 1); pattern="\`(lead_scoring\.)?${name}[(\`]" ;;
    view)     needs_row=1; pattern="\`(lead_scoring\.)?${name}\`" ;;
    table)    needs_row= ;;
    guc)      needs_row=1; pattern="\`${name//./\\.}\`" ;;
  esac
  if [[ -n $needs_row ]] && ! grep -Eq "^\|[^|]*${pattern}" <<<"$reference"; then
    missing+=("$kind $name: no row in the reference table of $readme")
  fi
  if [[ $commented != t ]]; then
    if [[ $kind == guc ]]; then
      missing+=("guc $name: no description")
    else
      missing+=("$kind $name: no COMMENT ON (add one in install/, and in the upgrade script)")
    fi
  fi
done < <(sed 's/|/\t/g' <<<"$listing")

if [[ $counted -eq 0 ]]; then
  echo "check_reference: the extension has no objects?" >&2; exit 1
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  printf '%s\n' "${missing[@]}"
  echo "check_reference: ${#missing[@]} missing (of $counted objects checked, and the links)"
  exit 1
fi
echo "check_reference: all $counted functions, views, tables and GUCs are in the reference and commented; every link resolves"
