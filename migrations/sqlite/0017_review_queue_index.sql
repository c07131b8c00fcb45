-- The review queue filters on status first (pending / approved / rejected), by kind only when a
-- tab is chosen, and is read most urgent first: indexes in that order (the first one began with
-- kind, which the all-kinds queue cannot use).
DROP INDEX reviews_queue;
CREATE INDEX reviews_queue ON reviews (status, kind, due_date, submitted_at);
CREATE INDEX reviews_queue_all ON reviews (status, due_date, submitted_at, id);
