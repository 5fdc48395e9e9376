-- Several appliances on one database: what a claim of host room checks, who works on a row, what changed when.

-- Whether the VM holds its host's room (it is in memory), and how much: summed per host by a claim.
ALTER TABLE vm ADD COLUMN holds_host BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE vm ADD COLUMN vcpus INT DEFAULT 0 NOT NULL;
ALTER TABLE vm ADD COLUMN memory_mib BIGINT DEFAULT 0 NOT NULL;
-- The appliance that made the row's last move: it carries a transitional state on, unless it is gone.
ALTER TABLE vm ADD COLUMN worker VARCHAR(128);
-- updated_at is the database's time of the row's last write from now on: appliances read what changed since.
CREATE INDEX vm_updated ON vm (updated_at);

-- A claim of room on a host (or of an offering's one creation) is a compare-and-set on its generation, as
-- OpenStack Placement does for a resource provider: two claims on one host never both pass on the same count.
CREATE TABLE host_claim (
    host_id    VARCHAR(128) NOT NULL PRIMARY KEY,
    generation BIGINT       NOT NULL
);
CREATE TABLE offering_claim (
    offering_key VARCHAR(1024) NOT NULL PRIMARY KEY,
    generation   BIGINT        NOT NULL
);

-- Every appliance writing the database says it is alive; one that stops saying so is gone.
CREATE TABLE appliance (
    name         VARCHAR(128) NOT NULL PRIMARY KEY,
    heartbeat_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- The hosts added through an appliance's API: every appliance sharing the database connects them.
CREATE TABLE host_registration (
    name       VARCHAR(128)  NOT NULL PRIMARY KEY,
    doc        VARCHAR(100000) NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Requests per combination, minute and appliance: each appliance adds its own, and reads the others'.
CREATE TABLE demand (
    offering_key VARCHAR(1024) NOT NULL,
    at_minute    BIGINT        NOT NULL,
    appliance    VARCHAR(128)  NOT NULL,
    requests     BIGINT        NOT NULL,
    offering     VARCHAR(4000) NOT NULL,
    PRIMARY KEY (offering_key, at_minute, appliance)
);
CREATE INDEX demand_minute ON demand (at_minute);
