-- Credentials for an add-on's private git repository (`username:token`), write-only in the
-- API. Kept as given, like the webhook secret: the server must present them to the git
-- host, so a digest would be useless.

ALTER TABLE packages ADD COLUMN repository_credentials TEXT;
