-- The console: personal access tokens. A token names a client, so each account that
-- generates one gets a personal client (`personal`), hidden from every client lookup and
-- list, without a secret or a grant; the token carries its owner's note.

ALTER TABLE clients ADD COLUMN personal BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE access_tokens ADD COLUMN note TEXT;
