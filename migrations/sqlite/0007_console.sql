-- The console. Personal access tokens: a token names a client, so each account that
-- generates one gets a personal client (`personal`), hidden from every client lookup and
-- list, without a secret or a grant; the token carries its owner's note. Secret rotation
-- with a grace period: the replaced secret's digest keeps working until
-- `previous_secret_expires_at` (Unix seconds).

ALTER TABLE clients ADD COLUMN personal BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE access_tokens ADD COLUMN note TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_digest BLOB;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at INTEGER;
