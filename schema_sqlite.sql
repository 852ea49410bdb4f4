-- The SQLite twin of schema.sql, for the embedded store. The same versions, the same
-- tables and indexes; the types differ: ids and JSON are TEXT, and timestamps are TEXT in
-- the fixed-width UTC form 2006-01-02T15:04:05.000000Z so that they sort as they compare.

-- migration: 1 initial schema
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE erasure_requests (
    id               TEXT PRIMARY KEY,
    store_id         TEXT NOT NULL,
    resource_type    TEXT NOT NULL,
    resource_id      TEXT NOT NULL,
    reason           TEXT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed')),
    services_erased  TEXT NOT NULL DEFAULT '[]',
    partial_failures TEXT NOT NULL DEFAULT '[]',
    initiator        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    completed_at     TEXT,
    due_at           TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    claimed_until    TEXT,
    requests_erased_at TEXT
);
CREATE INDEX erasure_requests_created ON erasure_requests (store_id, created_at, id);
CREATE INDEX erasure_requests_updated ON erasure_requests (store_id, updated_at, id);
CREATE INDEX erasure_requests_completed ON erasure_requests (store_id, completed_at, id);
CREATE INDEX erasure_requests_due ON erasure_requests (store_id, due_at, id);
CREATE INDEX erasure_requests_status ON erasure_requests (store_id, status, created_at, id);
CREATE INDEX erasure_requests_resource ON erasure_requests (store_id, resource_type, resource_id, id);
CREATE INDEX erasure_requests_resource_id ON erasure_requests (store_id, resource_id, id);
CREATE INDEX erasure_requests_open ON erasure_requests (created_at, id) WHERE requests_erased_at IS NULL;

CREATE TABLE erasure_events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    erasure_request_id TEXT NOT NULL REFERENCES erasure_requests (id),
    store_id           TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    actor              TEXT NOT NULL,
    old_status         TEXT,
    new_status         TEXT NOT NULL,
    report             TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX erasure_events_request ON erasure_events (erasure_request_id, id);
CREATE TRIGGER erasure_events_no_update BEFORE UPDATE ON erasure_events
BEGIN
    SELECT RAISE(ABORT, 'erasure_events is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER erasure_events_no_delete BEFORE DELETE ON erasure_events
BEGIN
    SELECT RAISE(ABORT, 'erasure_events is append-only: DELETE is not allowed');
END;

CREATE TABLE idempotency_keys (
    store_id      TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (store_id, key)
);

CREATE TABLE requests (
    store_id            TEXT NOT NULL,
    request_id          TEXT NOT NULL,
    requested_by        TEXT,
    status              TEXT NOT NULL CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED')),
    note_id             TEXT,
    community_server_id TEXT,
    requested_at        TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    content             TEXT,
    platform_message_id TEXT,
    platform_channel_id TEXT,
    metadata            TEXT,
    similarity_score    REAL,
    dataset_name        TEXT,
    dataset_item_id     TEXT,
    erased_at           TEXT,
    version             INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (store_id, request_id)
);
CREATE INDEX requests_requested_at ON requests (store_id, requested_at, request_id);
CREATE INDEX requests_created ON requests (store_id, created_at, request_id);
CREATE INDEX requests_requested_by ON requests (store_id, requested_by, request_id);
CREATE INDEX requests_status ON requests (store_id, status, requested_at, request_id);
CREATE INDEX requests_community_server ON requests (store_id, community_server_id, request_id);
CREATE INDEX requests_dataset ON requests (store_id, dataset_name, request_id);
CREATE INDEX requests_note ON requests (store_id, note_id, request_id);

CREATE TABLE deletions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id      TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('PENDING', 'SUCCESS', 'FAILURE')),
    message       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    claimed_until TEXT
);
CREATE UNIQUE INDEX deletions_one_pending ON deletions (store_id, request_id) WHERE status = 'PENDING';
CREATE INDEX deletions_request ON deletions (store_id, request_id, id);
CREATE INDEX deletions_open ON deletions (id) WHERE status = 'PENDING';

-- migration: 2 vacuums
-- PostgreSQL only: SQLite overwrites erased data at once (secure_delete) and has no vacuum
-- to schedule.
SELECT 1;

-- migration: 3 keys, access tokens, personal data logs
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;
ALTER TABLE api_keys ADD COLUMN representation TEXT NOT NULL DEFAULT 'jsonapi'
    CHECK (representation IN ('jsonapi', 'elasticpath'));
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL REFERENCES api_keys (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX access_tokens_key ON access_tokens (key_id, expires_at);

ALTER TABLE deletions ADD COLUMN initiator TEXT;

CREATE TABLE personal_data_logs (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    subject       TEXT,
    event_type    TEXT NOT NULL,
    time          TEXT NOT NULL,
    initiator     TEXT NOT NULL,
    delta         TEXT NOT NULL
);
CREATE INDEX personal_data_logs_resource ON personal_data_logs (store_id, resource_type, resource_id, time, id);
CREATE INDEX personal_data_logs_subject ON personal_data_logs (store_id, subject, time, id);
CREATE INDEX personal_data_logs_store_time ON personal_data_logs (store_id, time);
CREATE INDEX personal_data_logs_time ON personal_data_logs (time);

CREATE TABLE logs_ttl (
    store_id   TEXT PRIMARY KEY,
    days       INTEGER NOT NULL CHECK (days BETWEEN 1 AND 3650),
    updated_at TEXT NOT NULL
);

CREATE TABLE chores (
    name          TEXT PRIMARY KEY,
    claimed_until TEXT,
    started_at    TEXT
);
INSERT INTO chores (name) VALUES ('purge_logs');

-- migration: 4 orchestration
-- SQLite cannot change a CHECK constraint, so erasure_requests is rebuilt, as SQLite's
-- own procedure for such changes does it (storage runs migrations with foreign keys off
-- and checks them before they commit).
CREATE TABLE erasure_requests_3 (
    id                 TEXT PRIMARY KEY,
    store_id           TEXT NOT NULL,
    resource_type      TEXT NOT NULL,
    resource_id        TEXT NOT NULL,
    reason             TEXT,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),
    services_erased    TEXT NOT NULL DEFAULT '[]',
    partial_failures   TEXT NOT NULL DEFAULT '[]',
    initiator          TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    completed_at       TEXT,
    due_at             TEXT NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    claimed_until      TEXT,
    requests_erased_at TEXT,
    services_required  TEXT,
    extension_reason   TEXT,
    original_due_at    TEXT,
    overdue_at         TEXT
);
INSERT INTO erasure_requests_3 (id, store_id, resource_type, resource_id, reason, status, services_erased,
    partial_failures, initiator, created_at, updated_at, completed_at, due_at, version, claimed_until, requests_erased_at)
SELECT id, store_id, resource_type, resource_id, reason, status, services_erased,
    partial_failures, initiator, created_at, updated_at, completed_at, due_at, version, claimed_until, requests_erased_at
FROM erasure_requests;
DROP TABLE erasure_requests;
ALTER TABLE erasure_requests_3 RENAME TO erasure_requests;
CREATE INDEX erasure_requests_created ON erasure_requests (store_id, created_at, id);
CREATE INDEX erasure_requests_updated ON erasure_requests (store_id, updated_at, id);
CREATE INDEX erasure_requests_completed ON erasure_requests (store_id, completed_at, id);
CREATE INDEX erasure_requests_due ON erasure_requests (store_id, due_at, id);
CREATE INDEX erasure_requests_status ON erasure_requests (store_id, status, created_at, id);
CREATE INDEX erasure_requests_resource ON erasure_requests (store_id, resource_type, resource_id, id);
CREATE INDEX erasure_requests_resource_id ON erasure_requests (store_id, resource_id, id);
CREATE INDEX erasure_requests_open ON erasure_requests (created_at, id)
    WHERE requests_erased_at IS NULL AND status <> 'cancelled';
CREATE INDEX erasure_requests_unfinished ON erasure_requests (due_at) WHERE status IN ('pending', 'in_progress');

CREATE TABLE erasure_services (
    store_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (store_id, name)
);
CREATE INDEX erasure_services_created ON erasure_services (store_id, created_at, name);

CREATE TABLE erasure_awaiting (
    erasure_request_id TEXT NOT NULL REFERENCES erasure_requests (id),
    service            TEXT NOT NULL,
    request_store_id   TEXT NOT NULL,
    request_created_at TEXT NOT NULL,
    PRIMARY KEY (erasure_request_id, service)
);
CREATE INDEX erasure_awaiting_queue ON erasure_awaiting (request_store_id, service, request_created_at, erasure_request_id);

CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL,
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    service       TEXT,
    active        INTEGER NOT NULL,
    secret        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    succeeded_at  TEXT,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX webhooks_store ON webhooks (store_id, created_at, id);

CREATE TABLE webhook_events (
    id                 TEXT PRIMARY KEY,
    store_id           TEXT NOT NULL,
    event              TEXT NOT NULL,
    erasure_request_id TEXT NOT NULL,
    webhook_ids        TEXT NOT NULL,
    payload            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    fanned_out_at      TEXT
);
CREATE INDEX webhook_events_new ON webhook_events (id) WHERE fanned_out_at IS NULL;

CREATE TABLE webhook_deliveries (
    id                 TEXT PRIMARY KEY,
    store_id           TEXT NOT NULL,
    webhook_id         TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event              TEXT NOT NULL,
    erasure_request_id TEXT NOT NULL,
    event_id           TEXT NOT NULL REFERENCES webhook_events (id),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_status_code   INTEGER,
    last_error         TEXT,
    next_attempt_at    TEXT,
    claimed_until      TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';

-- migration: 5 overdue scan
-- The requests the overdue worker has yet to mark, by due date. Marked ones stay in
-- erasure_requests_unfinished until they finish, so a scan of that index for the unmarked
-- ones read every overdue request each round: it grew with the backlog.
CREATE INDEX erasure_requests_unmarked ON erasure_requests (due_at)
    WHERE status IN ('pending', 'in_progress') AND overdue_at IS NULL;
