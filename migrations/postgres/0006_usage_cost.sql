-- Usage and cost (issue 14). Traces and checkpoints keep the cost of each request in USD (NULL when
-- the model's price is unknown: unknown is not free) and the cached / reasoning parts of its tokens;
-- sessions keep their total cost. Agents and PATs get token limits and spend budgets
-- (docs/usage-and-budgets.md): NULL = none. Adding NULL columns rewrites nothing.

ALTER TABLE traces ADD COLUMN cached_tokens INTEGER;
ALTER TABLE traces ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE traces ADD COLUMN cost_usd DOUBLE PRECISION;
ALTER TABLE checkpoints ADD COLUMN cached_tokens INTEGER;
ALTER TABLE checkpoints ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE checkpoints ADD COLUMN cost_usd DOUBLE PRECISION;
ALTER TABLE sessions ADD COLUMN cost_usd DOUBLE PRECISION;
ALTER TABLE agents ADD COLUMN tpm BIGINT;
ALTER TABLE agents ADD COLUMN budget_usd_day DOUBLE PRECISION;
ALTER TABLE agents ADD COLUMN budget_usd_week DOUBLE PRECISION;
ALTER TABLE agents ADD COLUMN budget_usd_month DOUBLE PRECISION;
ALTER TABLE agents ADD COLUMN budget_tokens_day BIGINT;
ALTER TABLE agents ADD COLUMN budget_tokens_week BIGINT;
ALTER TABLE agents ADD COLUMN budget_tokens_month BIGINT;
ALTER TABLE agents ADD COLUMN budget_warn_pct INTEGER;
ALTER TABLE agents ADD COLUMN budget_fallback_model TEXT;
ALTER TABLE pats ADD COLUMN tpm BIGINT;
ALTER TABLE pats ADD COLUMN budget_usd_day DOUBLE PRECISION;
ALTER TABLE pats ADD COLUMN budget_usd_week DOUBLE PRECISION;
ALTER TABLE pats ADD COLUMN budget_usd_month DOUBLE PRECISION;
ALTER TABLE pats ADD COLUMN budget_tokens_day BIGINT;
ALTER TABLE pats ADD COLUMN budget_tokens_week BIGINT;
ALTER TABLE pats ADD COLUMN budget_tokens_month BIGINT;
ALTER TABLE pats ADD COLUMN budget_warn_pct INTEGER;
ALTER TABLE pats ADD COLUMN budget_fallback_model TEXT;
