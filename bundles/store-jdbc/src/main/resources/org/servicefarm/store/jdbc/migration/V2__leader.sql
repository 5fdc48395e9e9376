-- Which appliance leads the periodic work, as the leader last wrote it (the lock itself is PostgreSQL's advisory
-- lock, held by the leader's session; this row only tells the others who holds it and since when).
CREATE TABLE leader (
    id         INT          NOT NULL PRIMARY KEY,
    appliance  VARCHAR(128) NOT NULL,
    since      TIMESTAMP WITH TIME ZONE NOT NULL,
    renewed_at TIMESTAMP WITH TIME ZONE NOT NULL
);
