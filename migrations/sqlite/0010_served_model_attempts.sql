-- Many providers (issue 13): which target of a fallback chain served a request, and the attempts that
-- failed before it. `model` stays what the caller asked for (an alias, a public name); `served_model`
-- is what the provider was asked for. `attempts` is JSON text ([{"provider","model","error"}]), NULL
-- when the first target served. Checkpoints already have `provider` and `served_model` (0007_ledger);
-- they get `attempts` here.

ALTER TABLE traces ADD COLUMN served_model TEXT;
ALTER TABLE traces ADD COLUMN attempts TEXT;
ALTER TABLE checkpoints ADD COLUMN attempts TEXT;
