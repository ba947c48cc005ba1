-- Version 3: what lets two replicas go as fast as one.
-- * `outbox_tally` counts outbox rows without `COUNT(*)`: each replica adds what it stores and
--   subtracts what it publishes under keys of its own (no two replicas update one row, so their
--   commits never wait on each other), and the depth is the sum. Rows of replicas that are gone
--   are folded into key '' at start.
-- * A hook is held, from the moment it is stored, by the replica that stored it (`claimed_by`):
--   each publisher reads its own rows through `outbox_held` instead of both walking (and skipping
--   each other's locks on) one shared index. Rows of a dead replica are adopted by another once
--   its lease ran out, as before.
CREATE TABLE outbox_tally (
    key TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO outbox_tally (key, n) SELECT '', COUNT(*) FROM outbox;
-- * Every claim now reads `outbox_held`, so `outbox_due` is dropped: one index fewer to write
--   and delete per hook, and it was the one both replicas' inserts met at (its right edge).
DROP INDEX IF EXISTS outbox_claimed;
DROP INDEX IF EXISTS outbox_due;
CREATE INDEX outbox_held ON outbox (claimed_by, next_attempt_at_ms, seq);
-- Hook bodies compress well with lz4 (cheaper than the default pglz); PostgreSQL 14 and later.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'ALTER TABLE outbox ALTER COLUMN body SET COMPRESSION lz4';
    END IF;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    -- A server built without lz4 keeps the default.
    NULL;
END $$;
