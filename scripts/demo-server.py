#!/usr/bin/env python3
"""scripts/demo-server.py: the demo page's server side, as an app's backend would be: it
mints short-lived JWTs for the user a visitor names (the page never holds the secret or the
server key) and sends notifications to a user's channel user-<id> with the server key.

  GET  /demo/token?user=ID          -> {"code":200,"token":"<JWT: sub ID, exp in PUSH_DEMO_TTL s>","expires":..}
  POST /demo/notify  user=ID&text=T -> the reply of POST /push/publish to user-ID, content
                                       {"from":"demo","text":T}

Environment: PUSH_APP_SECRET, PUSH_SERVER_KEY, PUSH_URL (the API's base, http://HOST:PORT),
PUSH_DEMO_PORT (listens on 127.0.0.1), PUSH_DEMO_TTL (600). Replies carry
Access-Control-Allow-Origin: * (the page is on another port) and never credentials. The demo's
visitors pick any name without a login (its app takes claimed users), so this mints for any
valid name: a real backend mints only for the user its session has logged in."""
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ["PUSH_APP_SECRET"]
SERVER_KEY = os.environ["PUSH_SERVER_KEY"]
API = os.environ["PUSH_URL"].rstrip("/")
TTL = int(os.environ.get("PUSH_DEMO_TTL", "600"))
# Letters and digits of any script and _.=@-, as push.user_valid() (which has the last word).
USER = re.compile(r"^[\w.=@-]+$")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(sub, expires):
    """An HS256 JWT with sub, iat (milliseconds, so a kick refuses it) and exp, signed with the
    app's secret (its text), as pushctl token --jwt makes it."""
    head = b64url(b'{"alg":"HS256","typ":"JWT"}')
    body = b64url(json.dumps({"sub": sub, "iat": round(time.time(), 3), "exp": expires}, separators=(",", ":"), ensure_ascii=False).encode())
    signature = hmac.new(SECRET.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64url(signature)


def valid_user(user):
    return bool(user) and len(user.encode()) <= 64 and USER.match(user) is not None


class Handler(BaseHTTPRequestHandler):
    server_version = "push-demo"

    def reply(self, status, obj):
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def params(self):
        url = urllib.parse.urlsplit(self.path)
        found = dict(urllib.parse.parse_qsl(url.query))
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length > 65536:
                return url.path, None
            found.update(urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        return url.path, found

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path, params = self.params()
        if path != "/demo/token":
            return self.reply(404, {"code": 404, "content": "path: no such path"})
        user = params.get("user", "")
        if not valid_user(user):
            return self.reply(400, {"code": 400, "content": "user: must be 1-64 bytes of letters, digits and _.=@-"})
        expires = int(time.time()) + TTL
        self.reply(200, {"code": 200, "content": "OK", "user": user, "token": jwt(user, expires), "expires": expires})

    def do_POST(self):
        path, params = self.params()
        if path != "/demo/notify":
            return self.reply(404, {"code": 404, "content": "path: no such path"})
        if params is None:
            return self.reply(413, {"code": 413, "content": "body: at most 65536 bytes"})
        user, text = params.get("user", ""), params.get("text", "")
        if not valid_user(user):
            return self.reply(400, {"code": 400, "content": "user: must be 1-64 bytes of letters, digits and _.=@-"})
        if not text.strip():
            return self.reply(400, {"code": 400, "content": "text: missing"})
        content = json.dumps({"from": "demo", "text": text}, ensure_ascii=False)
        data = urllib.parse.urlencode({"appkey": SERVER_KEY, "channel": "user-" + user, "content": content}).encode()
        try:
            with urllib.request.urlopen(API + "/push/publish", data=data, timeout=10) as r:
                status, answer = r.status, json.load(r)
        except urllib.error.HTTPError as e:
            status, answer = e.code, json.load(e)
        except (OSError, ValueError) as e:
            status, answer = 503, {"code": 503, "content": "publish: %s" % e}
        self.reply(status, answer)

    def log_message(self, fmt, *args):
        sys.stderr.write("demo-server: %s %s\n" % (self.address_string(), fmt % args))


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PUSH_DEMO_PORT"])), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
