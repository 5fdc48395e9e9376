-- Secret keys shared by the appliances of one database (e.g. the one retry tickets are signed with): made by the
-- first appliance that needs one, read by the others.
CREATE TABLE farm_key (
    name       VARCHAR(64)  NOT NULL PRIMARY KEY,
    key_hex    VARCHAR(128) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);
