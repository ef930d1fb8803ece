-- 004_views.sql: plain-SQL views of the history with read flags, unread counts per user, and channel statistics.

CREATE VIEW push.message_log AS
SELECT a.name AS app,
       c.name AS channel,
       m.seq,
       m.content,
       m.sender,
       push.channel_user(c.name) AS user_id,
       CASE WHEN push.channel_user(c.name) IS NOT NULL THEN m.seq <= coalesce(r.seq, 0) END AS is_read,
       m.created_at
FROM push.message m
JOIN push.channel c ON c.id = m.channel_id
JOIN push.app a ON a.id = c.app_id
LEFT JOIN push.read_mark r
       ON r.app_id = c.app_id AND r.channel_id = c.id AND r.user_id = push.channel_user(c.name);
COMMENT ON VIEW push.message_log IS
    'every kept message; on user-<id> channels user_id is <id> and is_read says whether that user has read it';

CREATE VIEW push.unread AS
SELECT a.name AS app,
       pair.user_id,
       c.name AS channel,
       c.last_seq,
       coalesce(r.seq, 0) AS read_seq,
       c.last_seq - coalesce(r.seq, 0) AS unread
FROM (SELECT app_id, user_id, channel_id FROM push.read_mark
      UNION
      SELECT app_id, push.channel_user(name), id FROM push.channel WHERE push.channel_user(name) IS NOT NULL) pair
JOIN push.channel c ON c.id = pair.channel_id
JOIN push.app a ON a.id = pair.app_id
LEFT JOIN push.read_mark r
       ON r.app_id = pair.app_id AND r.user_id = pair.user_id AND r.channel_id = pair.channel_id;
COMMENT ON VIEW push.unread IS
    'unread counts for every read mark and every user-<id> channel (read_seq 0 when <id> has no mark)';

CREATE VIEW push.channel_stats AS
SELECT a.name AS app,
       c.name AS channel,
       c.last_seq,
       s.kept,
       s.oldest_seq,
       s.newest_at,
       c.epoch,
       c.created_at
FROM push.channel c
JOIN push.app a ON a.id = c.app_id
CROSS JOIN LATERAL (SELECT count(*) AS kept, min(m.seq) AS oldest_seq, max(m.created_at) AS newest_at
                    FROM push.message m WHERE m.channel_id = c.id) s;
COMMENT ON VIEW push.channel_stats IS 'per channel: head seq, messages kept, oldest kept seq, newest message time, epoch';
