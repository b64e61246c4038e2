-- The last notification id given to each user, as on PostgreSQL. Ids used
-- to be MAX(id) + 1 over the user's rows, so deleting a board (and its
-- notifications) could hand a user's newest ids out again, and a stream
-- resuming from one of them would skip the new notifications. The counter
-- only grows.
CREATE TABLE notification_counters (
    user_id TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
INSERT INTO notification_counters (user_id, last_id)
    SELECT user_id, MAX(id) FROM notifications GROUP BY user_id;
