-- An OAuth client may belong to an organization (`org_name`): its owners manage it. The
-- account that registered it stays in `owner_id`, but an organization's client is never
-- listed among that account's own clients.
ALTER TABLE clients ADD COLUMN org_name TEXT REFERENCES orgs (name);
CREATE INDEX clients_org_idx ON clients (org_name);
