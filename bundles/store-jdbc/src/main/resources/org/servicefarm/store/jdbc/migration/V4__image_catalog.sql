-- Each appliance's image catalog: the images its image store holds and how each was used (the eviction policies rank
-- by it), written behind the image store's changes. The files are the image store's; a checkpoint's are its host's.
CREATE TABLE image_catalog (
    appliance    VARCHAR(128)  NOT NULL,
    id           VARCHAR(256)  NOT NULL,
    kind         VARCHAR(16)   NOT NULL,
    offering_key VARCHAR(1024),
    host_id      VARCHAR(128),
    size_bytes   BIGINT        NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    last_used_at TIMESTAMP WITH TIME ZONE,
    uses         BIGINT        NOT NULL,
    updated_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    doc          VARCHAR(100000) NOT NULL,
    PRIMARY KEY (appliance, id)
);
