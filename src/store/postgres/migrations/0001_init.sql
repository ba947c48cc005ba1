-- Version 1 of the PostgreSQL store: the same state as the SQLite store (outbox with bodies, seen
-- ids, small durable state), plus what several replicas sharing one database need: an outbox row
-- is claimed by one replica under a lease, so a replica that dies leaves its rows to the others.
CREATE TABLE seen (
    id TEXT PRIMARY KEY,
    first_seen BIGINT NOT NULL
);
CREATE INDEX seen_first_seen ON seen (first_seen);

CREATE TABLE outbox (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    body BYTEA NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    -- Set while a send's broker answer is not recorded (see the SQLite schema, version 2).
    sent_at_ms BIGINT,
    send_id BIGINT,
    -- The replica whose publisher holds the row, until lease_until_ms (renewed while it lives).
    claimed_by TEXT,
    lease_until_ms BIGINT
);
-- Claims walk due rows in the order they became due.
CREATE INDEX outbox_due ON outbox (next_attempt_at_ms, seq);
CREATE INDEX outbox_in_flight ON outbox (sent_at_ms) WHERE sent_at_ms IS NOT NULL;
CREATE INDEX outbox_claimed ON outbox (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE state (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
