-- The PostgreSQL schema of erasured. schema_sqlite.sql is its twin for the embedded store.
--
-- Each "-- migration: N name" line starts version N. A server applies, in order and each
-- in its own transaction, the versions its database has not recorded in
-- schema_migrations. Released versions are never edited: change the schema by adding one.

-- migration: 1 initial schema
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    store_id    text NOT NULL,
    name        text NOT NULL,
    email       text NOT NULL,
    scopes      text NOT NULL, -- space-separated
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);

CREATE TABLE erasure_requests (
    id               uuid PRIMARY KEY,
    store_id         text NOT NULL,
    resource_type    text NOT NULL,
    resource_id      text NOT NULL,
    reason           text,
    status           text NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed')),
    services_erased  jsonb NOT NULL DEFAULT '[]',
    partial_failures jsonb NOT NULL DEFAULT '[]',
    initiator        jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    completed_at     timestamptz,
    due_at           timestamptz NOT NULL,
    version          bigint NOT NULL DEFAULT 1,
    -- Background erasure: the lease of the process working on it, if any, and when it
    -- erased the requests this server holds (NULL: still to do, whatever the status).
    claimed_until    timestamptz,
    requests_erased_at timestamptz
);
-- Every list is scoped to one store; each index leads with store_id and ends with id,
-- the tie-breaker of every sort.
CREATE INDEX erasure_requests_created ON erasure_requests (store_id, created_at, id);
CREATE INDEX erasure_requests_updated ON erasure_requests (store_id, updated_at, id);
CREATE INDEX erasure_requests_completed ON erasure_requests (store_id, completed_at, id);
CREATE INDEX erasure_requests_due ON erasure_requests (store_id, due_at, id);
CREATE INDEX erasure_requests_status ON erasure_requests (store_id, status, created_at, id);
CREATE INDEX erasure_requests_resource ON erasure_requests (store_id, resource_type, resource_id, id);
CREATE INDEX erasure_requests_resource_id ON erasure_requests (store_id, resource_id, id);
-- The workers' queue: requests whose in-store erasure is still to do. A request that only
-- waits for other services to report is not in it, so no worker claims it again and again.
CREATE INDEX erasure_requests_open ON erasure_requests (created_at, id) WHERE requests_erased_at IS NULL;

-- The audit trail of erasure requests. Rows are only ever inserted.
CREATE TABLE erasure_events (
    id                 bigserial PRIMARY KEY,
    erasure_request_id uuid NOT NULL REFERENCES erasure_requests (id),
    store_id           text NOT NULL,
    created_at         timestamptz NOT NULL,
    actor              text NOT NULL, -- the key's name, or "erasured" for the server itself
    old_status         text,
    new_status         text NOT NULL,
    report             jsonb NOT NULL DEFAULT '{}' -- what was reported
);
CREATE INDEX erasure_events_request ON erasure_events (erasure_request_id, id);
-- The trail is evidence: the database itself refuses to edit or delete it.
CREATE FUNCTION erasure_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'erasure_events is append-only: % is not allowed', TG_OP;
END
$$;
CREATE TRIGGER erasure_events_append_only BEFORE UPDATE OR DELETE ON erasure_events
    FOR EACH ROW EXECUTE FUNCTION erasure_events_append_only();
CREATE TRIGGER erasure_events_no_truncate BEFORE TRUNCATE ON erasure_events
    FOR EACH STATEMENT EXECUTE FUNCTION erasure_events_append_only();

-- Replays of POSTs that carried an Idempotency-Key.
CREATE TABLE idempotency_keys (
    store_id      text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (store_id, key)
);

-- Open Notes requests: content people submitted.
CREATE TABLE requests (
    store_id            text NOT NULL,
    request_id          text NOT NULL,
    requested_by        text, -- NULL once erased
    status              text NOT NULL CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED')),
    note_id             uuid,
    community_server_id text,
    requested_at        timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    content             text,
    platform_message_id text,
    platform_channel_id text,
    metadata            jsonb,
    similarity_score    double precision,
    dataset_name        text,
    dataset_item_id     text,
    erased_at           timestamptz, -- when an erasure request removed its personal attributes
    version             bigint NOT NULL DEFAULT 1, -- the ETag
    PRIMARY KEY (store_id, request_id)
);
CREATE INDEX requests_requested_at ON requests (store_id, requested_at, request_id);
CREATE INDEX requests_created ON requests (store_id, created_at, request_id);
CREATE INDEX requests_requested_by ON requests (store_id, requested_by, request_id);
CREATE INDEX requests_status ON requests (store_id, status, requested_at, request_id);
-- The other filterable attributes, so that a filtered list reads only its matches.
CREATE INDEX requests_community_server ON requests (store_id, community_server_id, request_id);
CREATE INDEX requests_dataset ON requests (store_id, dataset_name, request_id);
CREATE INDEX requests_note ON requests (store_id, note_id, request_id);

-- Deletions of requests. A deleted request's row is gone; its deletion row, which holds
-- no personal data, is what remains and what answers 410.
CREATE TABLE deletions (
    id            bigserial PRIMARY KEY,
    store_id      text NOT NULL,
    request_id    text NOT NULL,
    status        text NOT NULL CHECK (status IN ('PENDING', 'SUCCESS', 'FAILURE')),
    message       text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    claimed_until timestamptz
);
-- One pending deletion per request at a time.
CREATE UNIQUE INDEX deletions_one_pending ON deletions (store_id, request_id) WHERE status = 'PENDING';
CREATE INDEX deletions_request ON deletions (store_id, request_id, id);
CREATE INDEX deletions_open ON deletions (id) WHERE status = 'PENDING';

-- migration: 2 vacuums
-- What an erasure or a deletion removes from requests stays in dead row versions and in
-- index entries until a vacuum removes them and the index that held requested_by is
-- rebuilt. Each row here is one table that storage vacuums so, one process at a time:
-- due_since is when the first change not yet vacuumed away committed (NULL: nothing to
-- do); horizon is set while a vacuum is under way, and every change whose transaction id
-- is below it is that vacuum's to remove; started_at is when the last vacuum started,
-- so that vacuums are at most once per interval however many processes there are.
CREATE TABLE vacuums (
    relation   text PRIMARY KEY,
    due_since  timestamptz,
    horizon    xid8,
    started_at timestamptz
);
INSERT INTO vacuums (relation) VALUES ('requests');

-- migration: 3 keys, access tokens, personal data logs
-- A key may expire, be revoked, and say which representation /v2/personal-data/* answers
-- in when a request's Accept does not; last_used_at is kept to within a minute.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz;
ALTER TABLE api_keys ADD COLUMN representation text NOT NULL DEFAULT 'jsonapi'
    CHECK (representation IN ('jsonapi', 'elasticpath'));
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

-- OAuth 2.0 client credentials: access tokens made from a key, stored hashed. One works
-- as its key does until it expires, or the key is revoked, expires or is rotated.
CREATE TABLE access_tokens (
    token_hash text PRIMARY KEY,
    key_id     uuid NOT NULL REFERENCES api_keys (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX access_tokens_key ON access_tokens (key_id, expires_at);

-- Who asked for a deletion: the initiator of its log entry.
ALTER TABLE deletions ADD COLUMN initiator jsonb;

-- Every change to personal data that erasured holds. subject is the person the entry's
-- resource belongs to (a request's requested_by), so that a person's logs are one range
-- of an index; an erasure sets it, and every value of delta, to NULL.
CREATE TABLE personal_data_logs (
    id            uuid PRIMARY KEY,
    store_id      text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    subject       text,
    event_type    text NOT NULL,
    time          timestamptz NOT NULL,
    initiator     jsonb NOT NULL,
    delta         jsonb NOT NULL
);
CREATE INDEX personal_data_logs_resource ON personal_data_logs (store_id, resource_type, resource_id, time, id);
CREATE INDEX personal_data_logs_subject ON personal_data_logs (store_id, subject, time, id);
-- The purge: per store with its own time to live, and by time for the others.
CREATE INDEX personal_data_logs_store_time ON personal_data_logs (store_id, time);
CREATE INDEX personal_data_logs_time ON personal_data_logs (time);

-- A store's logs time to live, when it is not the default.
CREATE TABLE logs_ttl (
    store_id   text PRIMARY KEY,
    days       integer NOT NULL CHECK (days BETWEEN 1 AND 3650),
    updated_at timestamptz NOT NULL
);

-- Background chores that one process at a time does, at most once per interval: the
-- process that holds claimed_until does it; started_at is when it last started.
CREATE TABLE chores (
    name          text PRIMARY KEY,
    claimed_until timestamptz,
    started_at    timestamptz
);
INSERT INTO chores (name) VALUES ('purge_logs');

-- migration: 4 orchestration
-- A request may be cancelled before it completes; cancelled is final, as completed is.
ALTER TABLE erasure_requests DROP CONSTRAINT erasure_requests_status_check;
ALTER TABLE erasure_requests ADD CONSTRAINT erasure_requests_status_check
    CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled'));
-- The services that must report before the request completes, copied from the store's
-- registry when it is filed. NULL on requests filed before this version: they wait for
-- the server's --erasure-services, as they did.
ALTER TABLE erasure_requests ADD COLUMN services_required jsonb;
-- The one extension of due_at: why, and the due date before it.
ALTER TABLE erasure_requests ADD COLUMN extension_reason text;
ALTER TABLE erasure_requests ADD COLUMN original_due_at timestamptz;
-- When the request was found overdue, which is announced once.
ALTER TABLE erasure_requests ADD COLUMN overdue_at timestamptz;
-- The erasure worker leaves a cancelled request alone.
DROP INDEX erasure_requests_open;
CREATE INDEX erasure_requests_open ON erasure_requests (created_at, id)
    WHERE requests_erased_at IS NULL AND status <> 'cancelled';
-- The requests not finished, by due date: the overdue scan and its gauge, across stores.
CREATE INDEX erasure_requests_unfinished ON erasure_requests (due_at) WHERE status IN ('pending', 'in_progress');

-- Each store's registry of the services that must erase.
CREATE TABLE erasure_services (
    store_id    text NOT NULL,
    name        text NOT NULL,
    description text,
    created_at  timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (store_id, name)
);
CREATE INDEX erasure_services_created ON erasure_services (store_id, created_at, name);

-- Each service's queue: one row per required service that has not reported on a request
-- that is not final, deleted when it reports or the request ends. A service's list
-- (filter=eq(awaiting_service,NAME)) is read from the index in the list's order, and
-- only then the requests, so a page costs what it holds, not what the store does. The
-- request's store and creation time are repeated under names of their own, so that a
-- join with erasure_requests leaves no column name ambiguous.
CREATE TABLE erasure_awaiting (
    erasure_request_id uuid NOT NULL REFERENCES erasure_requests (id),
    service            text NOT NULL,
    request_store_id   text NOT NULL,
    request_created_at timestamptz NOT NULL,
    PRIMARY KEY (erasure_request_id, service)
);
CREATE INDEX erasure_awaiting_queue ON erasure_awaiting (request_store_id, service, request_created_at, erasure_request_id);

-- Webhooks, and their outbox: a delivery row is written in the same transaction as the
-- change it announces, and sent by whichever process claims it.
CREATE TABLE webhooks (
    id            uuid PRIMARY KEY,
    store_id      text NOT NULL,
    url           text NOT NULL,
    events        jsonb NOT NULL,
    service       text,
    active        boolean NOT NULL,
    secret        text NOT NULL, -- whsec_…: it signs, so it is kept as it is
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    succeeded_at  timestamptz, -- when a delivery last succeeded, to the minute
    version       bigint NOT NULL DEFAULT 1
);
CREATE INDEX webhooks_store ON webhooks (store_id, created_at, id);

-- The outbox: one row per event that webhooks want, written in the same transaction as
-- the change it announces, however many webhooks want it; the delivery workers then make
-- it a delivery per webhook (fanned_out_at), so that a change pays for one row.
CREATE TABLE webhook_events (
    id                 uuid PRIMARY KEY,
    store_id           text NOT NULL,
    event              text NOT NULL,
    erasure_request_id uuid NOT NULL,
    webhook_ids        jsonb NOT NULL, -- those that wanted it when it happened
    payload            text NOT NULL, -- as signed and sent on every attempt
    created_at         timestamptz NOT NULL,
    fanned_out_at      timestamptz
);
CREATE INDEX webhook_events_new ON webhook_events (id) WHERE fanned_out_at IS NULL;

CREATE TABLE webhook_deliveries (
    id                 uuid PRIMARY KEY, -- the webhook-id of every attempt
    store_id           text NOT NULL,
    webhook_id         uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event              text NOT NULL,
    erasure_request_id uuid NOT NULL,
    event_id           uuid NOT NULL REFERENCES webhook_events (id), -- its body
    status             text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts           integer NOT NULL DEFAULT 0,
    last_status_code   integer,
    last_error         text,
    next_attempt_at    timestamptz, -- NULL once it succeeded or failed
    claimed_until      timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at, id);
-- The delivery workers' queue.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';

-- migration: 5 overdue scan
-- The requests the overdue worker has yet to mark, by due date. Marked ones stay in
-- erasure_requests_unfinished until they finish, so a scan of that index for the unmarked
-- ones read every overdue request each round: it grew with the backlog.
CREATE INDEX erasure_requests_unmarked ON erasure_requests (due_at)
    WHERE status IN ('pending', 'in_progress') AND overdue_at IS NULL;
