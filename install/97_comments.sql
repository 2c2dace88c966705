-- Comments that point users at the manual. Every function, view and table of
-- the extension has a COMMENT ON (scripts/check_reference.sh fails otherwise);
-- the ones here replace comments that named README sections the manual has
-- since moved to doc/.

COMMENT ON TABLE lead_scoring.model IS 'Lead scoring models: a name and a JSON spec (see doc/foundation.md)';
