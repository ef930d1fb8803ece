-- names.sql: channel names and user ids in any script (011_goeasy.sql): letters and digits of
-- every script, NFC, bounded in bytes; never spaces, controls or invisible characters.
BEGIN;
SELECT plan(26);

SELECT app_id, publish_key, secret FROM push.app_create('names-main') \gset

SELECT is(push.channel_valid(name), valid,
          format('channel name %s: %s', why, CASE WHEN valid THEN 'valid' ELSE 'invalid' END))
FROM (VALUES
    ('订单', true, '订单 (Chinese)'),
    ('user-张三', true, 'user-张三'),
    ('private-новости', true, 'private-новости (Cyrillic)'),
    ('عربي', true, 'Arabic'),
    ('café', true, 'café in NFC'),
    ('cafe' || chr(769), false, 'café in NFD (e and a combining accent)'),
    (repeat('订', 42), true, '42 three-byte letters (126 bytes)'),
    (repeat('订', 43), false, '43 three-byte letters (129 bytes: the bound is bytes)'),
    ('订' || chr(12288) || '单', false, 'an ideographic space (U+3000)'),
    ('a' || chr(160) || 'b', false, 'a no-break space'),
    ('a' || chr(8203) || 'b', false, 'a zero-width space'),
    ('a' || chr(8238) || 'b', false, 'a right-to-left override'),
    ('a' || chr(133) || 'b', false, 'a C1 control (NEL)'),
    ('a' || chr(65279), false, 'a byte order mark'),
    ('订单:1', false, 'a colon (the cursor separator)'),
    ('订单,x', false, 'a comma (the cursor separator)')
) AS t(name, valid, why);

SELECT ok(push.user_valid('张三'), 'user id 张三 is valid');
SELECT ok(NOT push.user_valid('张/三'), 'a user id still has no slash');
SELECT ok(NOT push.user_valid(repeat('张', 22)), 'a user id of 66 bytes is not valid');

-- End to end in SQL: publish, read marks, presence and tokens with such names.
SELECT is(push.publish(:'publish_key', '订单', '新订单'), 1::bigint, 'publish to 订单 answers seq 1');
SELECT is(push.channel_user('user-张三'), '张三', 'user-张三 belongs to 张三');
SELECT is(push.mark_read(:'publish_key', '张三', '订单', 1), 1::bigint, '张三 marks 订单 read');
SELECT lives_ok(format($$SELECT push.presence_touch(%s, '{订单}', 'tab1', '张三')$$, :app_id), '张三 is on 订单');
SELECT is((SELECT users FROM push.here_now(:app_id, '{订单}')), ARRAY['张三'], 'here_now lists 张三');
SELECT ok(push.jwt(:app_id, '张三', ARRAY['user-张三'], NULL, extract(epoch FROM now())::bigint + 60) IS NOT NULL,
          'a token for sub 张三');
SELECT throws_ok(format('SELECT push.publish(%L, %L, %L)', :'publish_key', 'cafe' || chr(769), 'x'), 'PU400',
                 NULL, 'publish to a name not in NFC is a 400');
SELECT * FROM finish();
ROLLBACK;
