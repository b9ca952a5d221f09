-- Refresh rotation with a grace window: how many times a rotated refresh token was
-- presented again, within the window, and answered with a new pair of its family.
ALTER TABLE refresh_tokens ADD COLUMN grace_uses INTEGER NOT NULL DEFAULT 0;
