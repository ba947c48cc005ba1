-- Version 2: one lease per replica instead of one per outbox row. Renewing per-row leases updated
-- (and so locked) every row a replica held, and a claim running meanwhile (`FOR UPDATE SKIP
-- LOCKED`) skipped those rows as if another replica had them: due rows went unclaimed for a poll,
-- and start-up recovery could miss rows in flight. A row is now held by `claimed_by` for as long
-- as that replica's lease here is alive. `outbox.lease_until_ms` stays (unused) so a replica of
-- the previous build still running during a rolling upgrade does not fail on a missing column.
CREATE TABLE replica_leases (
    replica TEXT PRIMARY KEY,
    lease_until_ms BIGINT NOT NULL
);
INSERT INTO replica_leases (replica, lease_until_ms)
SELECT claimed_by, MAX(lease_until_ms)
FROM outbox
WHERE claimed_by IS NOT NULL AND lease_until_ms IS NOT NULL
GROUP BY claimed_by;
