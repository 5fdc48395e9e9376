-- The hosts an operator drained: no appliance sharing the database places a new VM there, and a restart keeps them
-- drained. By host name: any host may be drained, from an appliance's etc/ files or from the API.
CREATE TABLE host_drain (
    name      VARCHAR(128) NOT NULL PRIMARY KEY,
    since     TIMESTAMP WITH TIME ZONE NOT NULL,
    appliance VARCHAR(128) NOT NULL
);
