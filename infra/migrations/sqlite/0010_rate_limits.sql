-- Rate limits that hold across every container of a deployment: one counter per key
-- (`<quota>:<key>`) and fixed window (its start, in seconds since the epoch).
CREATE TABLE rate_counters (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
