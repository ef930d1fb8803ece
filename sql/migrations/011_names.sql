-- 011_names.sql: channel names and user ids in any script. Of ASCII only letters, digits and
-- _.=@/- (no '/' in user ids; never the cursor's ',' and ':'); above ASCII anything but C1
-- controls, separators and spaces, invisible format and filler characters, variation
-- selectors, noncharacters and tags (the list of lib/validate.c); NFC; at most 128 (64) bytes.
-- The error texts of the functions that call these still name the ASCII set.

CREATE OR REPLACE FUNCTION push.name_valid(p_name text, p_max_bytes int, p_ascii text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(octet_length(p_name) BETWEEN 1 AND p_max_bytes
                AND p_name IS NFC NORMALIZED
                AND p_name ~ ('^(' || p_ascii || '|[^\x01-\x7f\u0080-\u00a0\u00ad\u034f\u061c\u115f\u1160'
                              '\u1680\u17b4\u17b5\u180b-\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000'
                              '\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\uffff\U000e0000-\U000e0fff])+$'), false);
COMMENT ON FUNCTION push.name_valid(text, int, text) IS
    'true for 1 to p_max_bytes bytes of NFC text: ASCII matching p_ascii, or letters and marks of any script';

CREATE OR REPLACE FUNCTION push.channel_valid(p_name text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN push.name_valid(p_name, 128, '[A-Za-z0-9_.=@/-]');
COMMENT ON FUNCTION push.channel_valid(text) IS
    'true for 1-128 bytes (NFC) of letters and digits of any script and _.=@/-';

CREATE OR REPLACE FUNCTION push.user_valid(p_id text) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN push.name_valid(p_id, 64, '[A-Za-z0-9_.=@-]');
COMMENT ON FUNCTION push.user_valid(text) IS
    'true for 1-64 bytes (NFC) of letters and digits of any script and _.=@- (user ids and client ids)';
