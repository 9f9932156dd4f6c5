-- Many providers (issue 13): which target of a fallback chain served a request, and the attempts that
-- failed before it. `model` stays what the caller asked for (an alias, a public name); `served_model`
-- is what the provider was asked for. `attempts` is JSON text ([{"provider","model","error"}]), NULL
-- when the first target served (adding NULL columns rewrites nothing). Checkpoints also get the serving `provider`, so a session shows which
-- upstream account holds the state of a Responses continuation.

ALTER TABLE traces ADD COLUMN served_model TEXT;
ALTER TABLE traces ADD COLUMN attempts TEXT;
ALTER TABLE checkpoints ADD COLUMN provider TEXT;
ALTER TABLE checkpoints ADD COLUMN served_model TEXT;
ALTER TABLE checkpoints ADD COLUMN attempts TEXT;
