-- One row per request. No prompt or completion text, no secrets: ids, timings, sizes, tokens.
--
-- Dedupe: the emitter may replay a batch whose ack was lost, so the same trace can arrive twice.
-- ReplacingMergeTree collapses identical sorting keys when parts merge, and `list` reads with
-- `LIMIT 1 BY request_id, started_at_ms`, so duplicates are never shown even before a merge.
-- Retention: daily partitions (UTC). Servers with table TTL (19.6+) get
-- `MODIFY TTL started_at + toIntervalDay(N)` from the sink; older ones have expired partitions
-- dropped by the sink (see docs/traces.md). `agent` is '' when the request had none.
--
-- Variants: the runner uses the first section whose `-- requires:` the server meets, else `-- else`.

-- requires: 20.3
CREATE TABLE IF NOT EXISTS {database}.traces
(
    request_id String,
    session_id Nullable(String),
    agent LowCardinality(String),
    pat_id Nullable(String),
    model LowCardinality(Nullable(String)),
    provider LowCardinality(Nullable(String)),
    stream UInt8,
    status UInt16,
    error_code LowCardinality(Nullable(String)),
    started_at_ms Int64 CODEC(Delta, ZSTD),
    started_at DateTime('UTC') MATERIALIZED toDateTime(intDiv(started_at_ms, 1000), 'UTC'),
    total_ms Float64,
    upstream_ttfb_ms Nullable(Float64),
    upstream_ms Nullable(Float64),
    overhead_ms Float64,
    stage_names Array(LowCardinality(String)),
    stage_ms Array(Float64),
    prompt_tokens Nullable(UInt32),
    completion_tokens Nullable(UInt32),
    total_tokens Nullable(UInt32),
    bytes_in UInt64,
    bytes_out UInt64,
    directive_version Nullable(UInt32)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(started_at)
ORDER BY (agent, started_at_ms, request_id);

-- else
CREATE TABLE IF NOT EXISTS {database}.traces
(
    request_id String,
    session_id Nullable(String),
    agent String,
    pat_id Nullable(String),
    model Nullable(String),
    provider Nullable(String),
    stream UInt8,
    status UInt16,
    error_code Nullable(String),
    started_at_ms Int64,
    started_at DateTime('UTC') MATERIALIZED toDateTime(intDiv(started_at_ms, 1000), 'UTC'),
    total_ms Float64,
    upstream_ttfb_ms Nullable(Float64),
    upstream_ms Nullable(Float64),
    overhead_ms Float64,
    stage_names Array(String),
    stage_ms Array(Float64),
    prompt_tokens Nullable(UInt32),
    completion_tokens Nullable(UInt32),
    total_tokens Nullable(UInt32),
    bytes_in UInt64,
    bytes_out UInt64,
    directive_version Nullable(UInt32)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(started_at)
ORDER BY (agent, started_at_ms, request_id);
