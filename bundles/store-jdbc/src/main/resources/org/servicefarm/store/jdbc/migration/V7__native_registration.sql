-- The services hosts run themselves that were added through an appliance's API: every appliance sharing the database
-- serves them (as host_registration does for hosts).
CREATE TABLE native_registration (
    name       VARCHAR(128)    NOT NULL PRIMARY KEY,
    doc        VARCHAR(100000) NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL
);
