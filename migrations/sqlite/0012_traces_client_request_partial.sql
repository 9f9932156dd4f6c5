-- Only traces whose caller sent an X-Request-Id are indexed by it, as on Postgres since 0005. Most
-- clients send none, and every NULL was an index entry written per request for nothing (~1 µs of the
-- SQLite writer's CPU per trace, bench/BENCHMARKS.md). Lookups (`client_request_id = ?`) imply NOT
-- NULL, so the planner still uses the index. Rebuilding it reads the traces table once.

DROP INDEX traces_client_request;
CREATE INDEX traces_client_request ON traces (client_request_id) WHERE client_request_id IS NOT NULL;
