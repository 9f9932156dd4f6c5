-- Directives run like deployments (issue 15). Versions stay immutable rows in `directives`; what is
-- *served* is this per-agent, mutable deploy state:
--   stable_version   served to new sessions outside a canary (= the latest version when none runs)
--   canary_version   while a canary runs: the new version, served to canary_percent % of new sessions
--   rollout          how the last change was rolled out: 'new-sessions' (a session keeps the version it
--                    started with) or 'all-sessions' (every session moves)
--   floor_version    sessions that started on an older version are served this one (raised by an
--                    all-sessions rollout; 0 = never)
--   prompt_cache     opt-in provider prompt caching (OpenAI prompt_cache_key, Anthropic cache_control)
--   revision         +1 on every change, so a replica can tell a stale push from a new one
-- Sessions record the version they started with (their first checkpoint's), found by every replica.
-- Checkpoints record the prompt tokens the provider served from its cache.

CREATE TABLE directive_deploys (
  agent          TEXT PRIMARY KEY REFERENCES agents (name),
  stable_version INTEGER NOT NULL DEFAULT 0,
  canary_version INTEGER,
  canary_percent INTEGER CHECK (canary_percent BETWEEN 1 AND 100),
  rollout        TEXT NOT NULL DEFAULT 'new-sessions' CHECK (rollout IN ('new-sessions', 'all-sessions')),
  floor_version  INTEGER NOT NULL DEFAULT 0,
  prompt_cache   BOOLEAN NOT NULL DEFAULT FALSE,
  revision       BIGINT NOT NULL DEFAULT 1,
  updated_at     BIGINT NOT NULL
);

INSERT INTO directive_deploys (agent, stable_version, updated_at)
  SELECT agent, MAX(version), MAX(created_at) FROM directives GROUP BY agent;

-- Adding NULL columns rewrites nothing; the backfill touches only sessions that have checkpoints.
ALTER TABLE sessions ADD COLUMN directive_version INTEGER;
UPDATE sessions s SET directive_version = first.directive_version
  FROM (
    SELECT DISTINCT ON (session_id) session_id, directive_version FROM checkpoints
    WHERE directive_version IS NOT NULL ORDER BY session_id, created_at, seq
  ) first
  WHERE first.session_id = s.id;

-- checkpoints.cached_tokens (prompt-cache hits per checkpoint) comes from 0006_usage_cost.
