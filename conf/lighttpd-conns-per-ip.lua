-- conf/lighttpd-conns-per-ip.lua: mod_magnet script of conf/lighttpd.conf: answers 503 to a
-- request whose client address already has PUSH_MAX_CONNS_PER_IP connections busy with a
-- request (its header read, its answer not yet sent; idle keep-alive connections and
-- headers still arriving do not count), so one address cannot take every connection slot.
-- Unset: 2000; 0 turns the limit off.
--
-- lighttpd 1.4.69 has no such setting (mod_evasive went in 1.4.68; lighttpd's authors point
-- to mod_magnet instead). Counting walks every connection (2 ms for 9,000), so a count is
-- kept in _G (a script's plain globals last one request; _G lasts as long as lighttpd) and
-- redone once a second; the requests let in meanwhile are added to it. Since it only grows
-- between counts, it is counted again before a refusal, at most every 100 ms (so only an
-- address sending over 10 x the limit requests a second can be refused while under it).
-- While the whole server has no more connections than the limit, nothing is counted.

-- Connection stages (lighttpd's names) without a request under way.
local idle = { ["connect"] = true, ["req-start"] = true, ["read"] = true,
               ["keep-alive"] = true, ["resp-end"] = true, ["close"] = true, ["error"] = true }

local limit = tonumber(os.getenv("PUSH_MAX_CONNS_PER_IP") or "") or 2000
if limit <= 0 or lighty.server.stats["clients_open"] <= limit then
  _G.push_busy = nil
  return 0
end

-- Busy connections per address now, this request among them.
local function count_busy(now)
  local count = {}
  for other in lighty.server.irequests() do
    if not idle[other.req_attr["request.stage"]] then
      local a = other.req_attr["request.remote-addr"]
      count[a] = (count[a] or 0) + 1
    end
  end
  return { at = now, count = count }
end

local r = lighty.r
local addr = r.req_attr["request.remote-addr"]
local s, ns = lighty.c.hrtime()
local now = s * 1000 + ns // 1000000
local busy = _G.push_busy
if busy == nil or now - busy.at >= 1000 then
  busy = count_busy(now)
else
  busy.count[addr] = (busy.count[addr] or 0) + 1
  if busy.count[addr] > limit and now - busy.at >= 100 then
    busy = count_busy(now)
  end
end
_G.push_busy = busy

if (busy.count[addr] or 0) > limit then
  busy.count[addr] = busy.count[addr] - 1
  r.resp_header["Retry-After"] = "10"
  r.resp_header["Content-Type"] = "application/json"
  r.resp_header["Cache-Control"] = "no-store"
  r.resp_body.set({ '{"code":503,"content":"too many connections from this address"}' })
  return 503
end
return 0
