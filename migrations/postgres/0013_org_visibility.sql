-- The vendor part of an add-on's name, so that the visibility and management rules reach
-- the vendor's row (and its organization's members) by its primary key. Generated: it can
-- never disagree with the name, and no insert has to set it.
ALTER TABLE packages ADD COLUMN vendor TEXT
    GENERATED ALWAYS AS (split_part(name, '/', 1)) STORED;
CREATE INDEX packages_vendor_idx ON packages (vendor);
CREATE INDEX vendors_org_idx ON vendors (org_name);

-- The same for the change feed, whose rows outlive their add-on: a member of the
-- organization that has the vendor is told every change of its add-ons.
ALTER TABLE metadata_changes ADD COLUMN vendor TEXT
    GENERATED ALWAYS AS (split_part(package, '/', 1)) STORED;
