/* push.js: the browser client of the push service. WebSocket first, then XHR or JSONP
 * long-poll; resumes every channel from its last seq after any drop. ES3, no dependencies,
 * one global: Push. See SPEC.md section 6 and www/README.md. */
(function (window, document) {

var VERSION = "0.1.0";
var DEFAULT_TRANSPORTS = ["websocket", "xhr", "jsonp"];
var DEFAULTS = {
    wsOpenTimeout: 4000,     /* ms for a WebSocket to open before the next transport is tried */
    wsRetry: 30000,          /* ms before trying WebSocket again while polling (doubles) */
    wsRetryMax: 300000,
    pollTimeout: 25,         /* s the server holds a long-poll */
    requestTimeout: 15000,   /* ms for publish, history, presence and the first poll */
    backoff: 500,            /* ms before the first reconnect (doubles, with jitter) */
    backoffMax: 15000
};

function noop() {}

function now() {
    return new Date().getTime();
}

function isArray(value) {
    return Object.prototype.toString.call(value) === "[object Array]";
}

function indexOf(list, value) {
    for (var i = 0; i < list.length; i++) {
        if (list[i] === value) {
            return i;
        }
    }
    return -1;
}

function owns(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
}

/* Runs a user callback; an exception it throws is rethrown later so it cannot break the
 * connection's state. */
function call(fn, arg) {
    if (typeof fn !== "function") {
        return;
    }
    try {
        fn(arg);
    } catch (e) {
        window.setTimeout(function () { throw e; }, 0);
    }
}

function randomId() {
    var id = "";
    while (id.length < 16) {
        id += Math.floor(Math.random() * 2176782336).toString(36);
    }
    return "c" + id.substring(0, 15);
}

/* delay for attempt n (0, 1, ...): base * 2^n capped at max, jittered to 50-100%. */
function backoffDelay(base, max, attempt) {
    var delay = base * Math.pow(2, Math.min(attempt, 16));
    if (delay > max) {
        delay = max;
    }
    return Math.round(delay * (0.5 + Math.random() * 0.5));
}

/* Names as the server takes them (lib/validate.h): of ASCII only letters, digits and the
 * punctuation given; above ASCII no controls, spaces, invisible characters or noncharacters. */
var CHANNEL_NAME = /^(?:[A-Za-z0-9_.=@\/\-]|[^\x00-\xa0\xad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\uffff])+$/;
var USER_NAME = /^(?:[A-Za-z0-9_.=@\-]|[^\x00-\xa0\xad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\uffff])+$/;

/* The length of text in UTF-8 bytes; -1 when it is not well-formed (a lone surrogate). */
function utf8Length(text) {
    try {
        return unescape(encodeURIComponent(text)).length;
    } catch (e) {
        return -1;
    }
}

function nameValid(name, maxBytes, pattern) {
    if (typeof name !== "string" || !pattern.test(name)) {
        return false;
    }
    var bytes = utf8Length(name);
    return bytes > 0 && bytes <= maxBytes;
}

function query(params) {
    var parts = [], key;
    for (key in params) {
        if (owns(params, key) && params[key] !== null && params[key] !== undefined) {
            parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(params[key]));
        }
    }
    return parts.join("&");
}

/* JSON.parse where it exists; elsewhere (IE6-7) evaluates text that passes json2's check. */
function parseJSON(text) {
    if (typeof text !== "string" || text === "") {
        return null;
    }
    try {
        if (window.JSON && window.JSON.parse) {
            return window.JSON.parse(text);
        }
        if (/^[\],:{}\s]*$/.test(text.replace(/\\(?:["\\\/bfnrt]|u[0-9a-fA-F]{4})/g, "@")
                .replace(/"[^"\\\n\r]*"|true|false|null|-?\d+(?:\.\d*)?(?:[eE][+\-]?\d+)?/g, "]")
                .replace(/(?:^|:|,)(?:\s*\[)+/g, ""))) {
            /* U+2028/2029 are legal in JSON strings but end a line in ES3 source. */
            return (new Function("return (" + text.replace(/\u2028/g, "\\u2028")
                .replace(/\u2029/g, "\\u2029") + ");"))();
        }
    } catch (e) {
        return null;
    }
    return null;
}

function stringify(value) {
    return window.JSON.stringify(value);
}

/* "http://a.example:80/x" -> "http://a.example"; null when url has no scheme and host. */
function originOf(url) {
    var m = /^(https?:)\/\/([^\/?#]+)/i.exec(url);
    if (!m) {
        return null;
    }
    var scheme = m[1].toLowerCase(), host = m[2].toLowerCase();
    if ((scheme === "http:" && /:80$/.test(host)) || (scheme === "https:" && /:443$/.test(host))) {
        host = host.replace(/:\d+$/, "");
    }
    return scheme + "//" + host;
}

function pageOrigin() {
    return originOf(window.location.protocol + "//" + window.location.host);
}

/* A script tag inserted before the page's load event holds that event back until it loads:
 * a held JSONP poll waits for the page to finish loading first. */
var loaded = false, loadWaiters = [];

function pageLoaded() {
    if (!loaded && (!document.readyState || document.readyState === "complete")) {
        loaded = true;
    }
    return loaded;
}

function onPageLoad() {
    var waiters = loadWaiters;
    loaded = true;
    loadWaiters = [];
    for (var i = 0; i < waiters.length; i++) {
        waiters[i]();
    }
}

if (window.addEventListener) {
    window.addEventListener("load", onPageLoad, false);
} else if (window.attachEvent) {
    window.attachEvent("onload", onPageLoad);
}

/* ------------------------------------------------------------------------------------------
 * HTTP requests: XMLHttpRequest (ActiveX in IE6, XDomainRequest cross-origin in IE8-9) or a
 * JSONP script tag. Both call done(error, data) once: error is null or {code, content}, data
 * the parsed reply. Both return a function that aborts without calling done.
 */

var jsonpCallbacks = {};
var jsonpCount = 0;

function xhrSupported(sameOrigin) {
    if (sameOrigin) {
        return !!(window.XMLHttpRequest || window.ActiveXObject);
    }
    if (window.XMLHttpRequest && "withCredentials" in new window.XMLHttpRequest()) {
        return true;
    }
    return !!window.XDomainRequest;
}

/* Turns a reply body into done's arguments: the JSON's code decides, else the HTTP status. */
function finishReply(done, status, text) {
    var data = parseJSON(text);
    if (data && typeof data.code === "number") {
        if (data.code >= 200 && data.code < 300) {
            done(null, data);
        } else {
            done({ code: data.code, content: String(data.content) }, data);
        }
    } else if (status >= 200 && status < 300) {
        done({ code: 0, content: "unreadable reply" }, null);
    } else {
        done({ code: status || 0, content: status ? "HTTP " + status : "network error" }, null);
    }
}

function xhrRequest(sameOrigin, method, url, body, timeout, done) {
    var xhr, xdr = false, finished = false, timer;
    if (sameOrigin) {
        xhr = window.XMLHttpRequest ? new window.XMLHttpRequest() : new window.ActiveXObject("Microsoft.XMLHTTP");
    } else if (window.XMLHttpRequest && "withCredentials" in (xhr = new window.XMLHttpRequest())) {
        xdr = false;
    } else {
        xhr = new window.XDomainRequest();
        xdr = true;
    }
    function finish(status, text) {
        if (finished) {
            return;
        }
        finished = true;
        window.clearTimeout(timer);
        detach();
        finishReply(done, status, text);
    }
    function detach() {
        if (xdr) {
            xhr.onload = xhr.onerror = xhr.ontimeout = xhr.onprogress = noop;
        } else {
            xhr.onreadystatechange = noop;
        }
    }
    function abort() {
        if (finished) {
            return;
        }
        finished = true;
        window.clearTimeout(timer);
        detach();
        try {
            xhr.abort();
        } catch (e) {
            /* already closed */
        }
    }
    if (xdr) {
        /* XDomainRequest cannot read the status: a failure is a network error. */
        xhr.onload = function () { finish(200, xhr.responseText); };
        xhr.onerror = xhr.ontimeout = function () { finish(0, ""); };
        xhr.onprogress = noop;
    } else {
        xhr.onreadystatechange = function () {
            if (xhr.readyState === 4) {
                var status = 0;
                try {
                    status = xhr.status;
                } catch (e) {
                    /* aborted */
                }
                finish(status, xhr.responseText);
            }
        };
    }
    timer = window.setTimeout(function () {
        abort();
        done({ code: 0, content: "timeout" }, null);
    }, timeout);
    try {
        if (xdr) {
            xhr.open(method, url);
        } else {
            xhr.open(method, url, true);
            if (body !== null) {
                xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
            }
        }
        xhr.send(body);
    } catch (e) {
        window.setTimeout(function () { finish(0, ""); }, 0);
    }
    return abort;
}

function jsonpRequest(url, params, timeout, done) {
    var name = "c" + (++jsonpCount), finished = false, timer;
    var script = document.createElement("script");
    var head = document.getElementsByTagName("head")[0] || document.documentElement;
    function cleanup(keepCallback) {
        window.clearTimeout(timer);
        script.onload = script.onreadystatechange = script.onerror = null;
        if (script.parentNode) {
            script.parentNode.removeChild(script);
        }
        if (keepCallback) {
            /* The script may still run: leave a callback that ignores it. */
            jsonpCallbacks[name] = noop;
        } else {
            delete jsonpCallbacks[name];
        }
    }
    function fail(content) {
        if (finished) {
            return;
        }
        finished = true;
        cleanup(true);
        done({ code: 0, content: content }, null);
    }
    jsonpCallbacks[name] = function (data) {
        if (finished) {
            return;
        }
        finished = true;
        cleanup(false);
        if (data && typeof data.code === "number") {
            if (data.code >= 200 && data.code < 300) {
                done(null, data);
            } else {
                done({ code: data.code, content: String(data.content) }, data);
            }
        } else {
            done({ code: 0, content: "unreadable reply" }, null);
        }
    };
    params.callback = "Push._jsonp." + name;
    script.type = "text/javascript";
    script.charset = "utf-8";
    script.async = true;
    script.onerror = function () { fail("network error"); };
    /* Without onerror (IE6-8) a script that loaded but did not call back has failed. */
    script.onload = script.onreadystatechange = function () {
        var state = script.readyState;
        if (!state || state === "loaded" || state === "complete") {
            window.setTimeout(function () { fail("network error"); }, 50);
        }
    };
    timer = window.setTimeout(function () { fail("timeout"); }, timeout);
    script.src = url + (url.indexOf("?") < 0 ? "?" : "&") + query(params);
    head.insertBefore(script, head.firstChild);
    return function () {
        if (!finished) {
            finished = true;
            cleanup(true);
        }
    };
}

/* ------------------------------------------------------------------------------------------
 * A connection: the subscriptions, the transport in use and the reconnect schedule.
 *
 * Every subscription keeps seq, the last seq handed to onMessage; it only grows, and every
 * transport resumes from it, so a message is delivered once and in order whatever drops.
 */

function Connection(options) {
    var key;
    this.options = {};
    for (key in DEFAULTS) {
        if (owns(DEFAULTS, key)) {
            this.options[key] = typeof options[key] === "number" ? options[key] : DEFAULTS[key];
        }
    }
    this.appkey = options.appkey;
    this.user = options.user || null;
    /* A claimed user's own data (an object, or JSON text of one): sent as data= on the WebSocket
     * and long-poll requests, kept by presence marked "verified": false (README). */
    this.data = typeof options.data === "string" ? options.data
        : options.data && typeof options.data === "object" && window.JSON ? stringify(options.data) : null;
    /* A JWT naming who this page is (its sub) and what it may open: sent with every request. */
    this.token = options.token || null;
    this.client = options.client || randomId();
    this.onConnected = options.onConnected;
    this.onDisconnected = options.onDisconnected;
    this.onFailed = options.onFailed;

    var host = options.host ? String(options.host).replace(/\/+$/, "") : "";
    if (host && !/^https?:\/\//i.test(host)) {
        host = window.location.protocol + (host.substring(0, 2) === "//" ? "" : "//") + host;
    }
    this.base = host;
    this.sameOrigin = !host || originOf(host) === pageOrigin();

    /* The transports asked for, in order, that this browser can use. */
    var asked = options.transports || DEFAULT_TRANSPORTS;
    this.chain = [];
    for (var i = 0; i < asked.length; i++) {
        if (indexOf(this.chain, asked[i]) < 0 && this._supports(asked[i])) {
            this.chain.push(asked[i]);
        }
    }

    this.subs = {};          /* channel -> subscription */
    this.transport = null;   /* name of the transport in use */
    this.state = "connecting";
    this.active = null;      /* the transport object in use */
    this.worked = {};        /* transport name -> true once it has carried traffic */
    this.attempt = 0;        /* failures since the last success, for the backoff */
    this.timer = null;       /* reconnect */
    this.wsProbe = null;     /* a WebSocket tried in the background while polling */
    this.wsRetryTimer = null;
    this.wsRetryDelay = this.options.wsRetry;

    if (!this.appkey) {
        this.state = "failed";
        var self = this;
        window.setTimeout(function () { call(self.onFailed, { code: 400, content: "appkey: missing" }); }, 0);
        return;
    }
    if (this.chain.length === 0) {
        this.state = "failed";
        var that = this;
        window.setTimeout(function () { call(that.onFailed, { code: 0, content: "no usable transport" }); }, 0);
        return;
    }
    this._start(0);
    if (typeof options.onRead === "function") {
        this.subscribeReads({ token: options.readToken, onRead: options.onRead });
    }
}

Connection.prototype._supports = function (name) {
    if (name === "websocket") {
        return !!(window.WebSocket && window.JSON);
    }
    if (name === "xhr") {
        return xhrSupported(this.sameOrigin);
    }
    return name === "jsonp" && !!document.createElement;
};

Connection.prototype._url = function (path) {
    return this.base + path;
};

/* Starts the transport at chain[index]. */
Connection.prototype._start = function (index) {
    var name = this.chain[index];
    this.index = index;
    this.transport = name;
    this.active = name === "websocket" ? new WebSocketTransport(this) : new PollTransport(this, name);
    this.active.start();
};

/* A transport carries traffic (a WebSocket opened, a poll was answered). */
Connection.prototype._up = function (transport) {
    if (transport !== this.active) {
        return;
    }
    this.attempt = 0;
    this.worked[transport.name] = true;
    if (this.state !== "connected") {
        this.state = "connected";
        call(this.onConnected, { transport: transport.name, client: this.client });
    }
    this._scheduleWebSocketRetry();
};

/* A transport stopped: reconnect it, or move on to the next one. */
Connection.prototype._down = function (transport, error, wasUp) {
    if (transport !== this.active || this.state === "disconnected" || this.state === "failed") {
        return;
    }
    this.active = null;
    if (this.state === "connected") {
        this.state = "connecting";
        call(this.onDisconnected, { transport: transport.name, code: error.code, content: error.content });
    }
    if (error.code === 401 || error.code === 4001) {
        /* An unknown appkey stays unknown; a kicked user (WebSocket close 4001, a held poll's
         * 401) needs a new token from the page before connecting again. */
        this.state = "failed";
        this.transport = null;
        this._clearTimers();
        call(this.onFailed, error);
        return;
    }
    var next = this.index;
    /* A WebSocket that does not open, or a poll kind that never worked here, is given up for
     * the next transport; otherwise the same one is tried again after a pause. */
    if (!wasUp && (transport.name === "websocket" || !this.worked[transport.name])) {
        next = this.index + 1;
    }
    if (next >= this.chain.length) {
        next = 0;
        call(this.onFailed, error);
    }
    var self = this, delay = 0;
    if (next === this.index || next === 0) {
        delay = backoffDelay(this.options.backoff, this.options.backoffMax, this.attempt);
        this.attempt++;
    }
    this.timer = window.setTimeout(function () {
        self.timer = null;
        self._start(next);
    }, delay);
};

/* While polling with WebSocket earlier in the chain, try it again now and then. */
Connection.prototype._scheduleWebSocketRetry = function () {
    var wsIndex = indexOf(this.chain, "websocket");
    if (wsIndex < 0 || wsIndex >= this.index || this.wsRetryTimer || this.wsProbe) {
        return;
    }
    var self = this;
    this.wsRetryTimer = window.setTimeout(function () {
        self.wsRetryTimer = null;
        if (self.active === null || self.transport === "websocket") {
            return;
        }
        var probe = new WebSocketTransport(self);
        probe.probe = true;
        self.wsProbe = probe;
        probe.start();
    }, backoffDelay(this.wsRetryDelay, this.wsRetryDelay, 0) + this.wsRetryDelay / 2);
};

/* The background WebSocket opened: it takes over from the poll. */
Connection.prototype._promote = function (probe) {
    if (probe !== this.wsProbe) {
        return false;
    }
    this.wsProbe = null;
    if (this.state === "disconnected" || this.state === "failed") {
        return false;
    }
    this.wsRetryDelay = this.options.wsRetry;
    if (this.active) {
        this.active.stop();
    }
    if (this.timer) {
        window.clearTimeout(this.timer);
        this.timer = null;
    }
    this.index = indexOf(this.chain, "websocket");
    this.transport = "websocket";
    this.active = probe;
    this.attempt = 0;
    this.worked.websocket = true;
    this.state = "connected";
    call(this.onConnected, { transport: "websocket", client: this.client });
    return true;
};

Connection.prototype._probeFailed = function (probe) {
    if (probe !== this.wsProbe) {
        return;
    }
    this.wsProbe = null;
    this.wsRetryDelay = Math.min(this.wsRetryDelay * 2, this.options.wsRetryMax);
    this._scheduleWebSocketRetry();
};

Connection.prototype._clearTimers = function () {
    if (this.timer) {
        window.clearTimeout(this.timer);
        this.timer = null;
    }
    if (this.wsRetryTimer) {
        window.clearTimeout(this.wsRetryTimer);
        this.wsRetryTimer = null;
    }
    if (this.wsProbe) {
        this.wsProbe.stop();
        this.wsProbe = null;
    }
};

/* Hands one message to its subscription unless it was handed over before. */
Connection.prototype._deliver = function (channel, seq, content, time) {
    var sub = this.subs[channel];
    seq = Number(seq);
    if (!sub || isNaN(seq) || (sub.seq !== null && seq <= sub.seq)) {
        return;
    }
    sub.seq = seq;
    call(sub.onMessage, { channel: channel, seq: seq, content: content, time: time });
};

/* The server confirmed a subscription; head is the channel's seq now (the start when
 * subscribing "from now"). */
Connection.prototype._subscribed = function (channel, head) {
    var sub = this.subs[channel];
    if (!sub) {
        return;
    }
    if (sub.seq === null && typeof head === "number") {
        sub.seq = head;
    }
    if (!sub.confirmed) {
        sub.confirmed = true;
        call(sub.onSuccess, { channel: channel, seq: sub.seq });
    }
};

Connection.prototype._subscribeFailed = function (channel, error) {
    var sub = this.subs[channel];
    if (!sub) {
        return;
    }
    delete this.subs[channel];
    call(sub.onFailed, { channel: channel, code: error.code, content: error.content });
};

/* An HTTP request to the API: through the poll transport in use, or XHR when the browser
 * has it for this origin, or JSONP. done(error, data). */
Connection.prototype._http = function (method, path, params, done) {
    var kind = this.transport, i;
    if (kind !== "xhr" && kind !== "jsonp") {
        kind = xhrSupported(this.sameOrigin) ? "xhr" : "jsonp";
        for (i = 0; i < this.chain.length; i++) {
            if (this.chain[i] === "xhr" || this.chain[i] === "jsonp") {
                kind = this.chain[i];
                break;
            }
        }
    }
    this._credentials(params);
    if (kind === "jsonp") {
        params._ = now();
        return jsonpRequest(this._url(path), params, this.options.requestTimeout, done);
    }
    if (method === "POST") {
        return xhrRequest(this.sameOrigin, "POST", this._url(path), query(params),
                          this.options.requestTimeout, done);
    }
    params._ = now();
    return xhrRequest(this.sameOrigin, "GET", this._url(path) + "?" + query(params), null,
                      this.options.requestTimeout, done);
};

/* Adds the appkey and the connection's token (to any channel tokens) to an HTTP request. */
Connection.prototype._credentials = function (params) {
    params.appkey = this.appkey;
    if (this.token) {
        params.token = params.token ? params.token + "," + this.token : this.token;
    }
};

/* The WebSocket in use when it is open, else null. */
Connection.prototype._socket = function () {
    return this.active && this.active.name === "websocket" && this.active.open ? this.active : null;
};

function reportTo(onSuccess, onFailed) {
    return function (error, data) {
        if (error) {
            call(onFailed, error);
        } else {
            call(onSuccess, data);
        }
    };
}

/* ---- public API ---- */

Connection.prototype.subscribe = function (options) {
    var channel = options && options.channel;
    if (!nameValid(channel, 128, CHANNEL_NAME)) {
        call(options && options.onFailed, { channel: channel, code: 400, content: "channel: must be 1-128 bytes of letters, digits and _.=@/- (UTF-8)" });
        return;
    }
    var old = this.subs[channel];
    var since = typeof options.since === "number" ? options.since : (options.since ? Number(options.since) : null);
    var sub = {
        channel: channel,
        token: options.token || null,
        seq: old ? old.seq : (isNaN(since) ? null : since),
        confirmed: old ? old.confirmed : false,
        onMessage: options.onMessage,
        onSuccess: options.onSuccess,
        onFailed: options.onFailed
    };
    this.subs[channel] = sub;
    if (sub.confirmed) {
        window.setTimeout(function () { call(sub.onSuccess, { channel: channel, seq: sub.seq }); }, 0);
        return;
    }
    if (this.active) {
        this.active.subscribe(sub);
    }
};

Connection.prototype.unsubscribe = function (options) {
    var channel = typeof options === "string" ? options : options && options.channel;
    if (!channel || !this.subs[channel]) {
        return;
    }
    delete this.subs[channel];
    if (this.active) {
        this.active.unsubscribe(channel);
    }
    if (options && typeof options.onSuccess === "function") {
        window.setTimeout(function () { call(options.onSuccess, { channel: channel }); }, 0);
    }
};

Connection.prototype.publish = function (options) {
    var content = options.message;
    if (typeof content !== "string") {
        content = window.JSON ? stringify(content) : String(content);
    }
    var done = reportTo(options.onSuccess, options.onFailed);
    var socket = this._socket();
    var request = { channel: options.channel, content: content };
    /* A private-* or user-* channel takes a JWT whose publish claim covers it. */
    if (options.token) {
        request.token = options.token;
    }
    /* The publisher's id for the message: publishing again with it (a retry after a failure)
     * answers the first message's seq with duplicate: true and stores nothing. */
    if (options.msgid) {
        request.msgid = String(options.msgid);
    }
    if (socket) {
        request.op = "publish";
        socket.request(request, done, false);
    } else {
        this._http("POST", "/push/publish", request, done);
    }
};

Connection.prototype.history = function (options) {
    var done = reportTo(options.onSuccess, options.onFailed);
    var socket = this._socket(), sub = this.subs[options.channel];
    var request = { channel: options.channel, limit: options.limit || 20 };
    var token = options.token || (sub && sub.token);
    if (typeof options.before === "number") {
        request.before = options.before;
    }
    if (typeof options.after === "number") {
        request.after = options.after;
    }
    if (token) {
        request.token = token;
    }
    if (socket) {
        request.op = "history";
        socket.request(request, function (error, data) {
            if (data && !data.messages) {
                data.messages = [];
            }
            done(error, data);
        }, true);
    } else {
        if (this.user) {
            request.user = this.user;
        }
        this._http("GET", "/push/history", request, done);
    }
};

Connection.prototype.hereNow = function (options) {
    var channels = options.channels || (options.channel ? [options.channel] : []);
    if (!isArray(channels)) {
        channels = [channels];
    }
    var done = reportTo(options.onSuccess, options.onFailed), subs = this.subs;
    var socket = this._socket();
    function tokenOf(channel) {
        return options.token || (owns(subs, channel) && subs[channel].token) || null;
    }
    if (!socket) {
        var params = { channel: channels.join(","), user: this.user, token: null };
        for (var t = 0; t < channels.length && !params.token; t++) {
            params.token = tokenOf(channels[t]);
        }
        this._http("GET", "/push/presence", params, done);
        return;
    }
    /* One presence op per channel, gathered into the HTTP reply's shape. */
    var result = { code: 200, content: "OK", channels: {} }, left = channels.length, failed = false;
    function one(channel) {
        var request = { op: "presence", channel: channel };
        if (tokenOf(channel)) {
            request.token = tokenOf(channel);
        }
        socket.request(request, function (error, data) {
            if (failed) {
                return;
            }
            if (error) {
                failed = true;
                done(error, data);
                return;
            }
            result.channels[channel] = { clients: data.clients || 0, users: data.users || [], info: data.info || {} };
            if (--left === 0) {
                done(null, result);
            }
        }, true);
    }
    if (left === 0) {
        window.setTimeout(function () { done(null, result); }, 0);
    }
    for (var i = 0; i < channels.length; i++) {
        one(channels[i]);
    }
};

/* Read marks of the connection's user (or options.user): markRead({channel, seq}) marks the
 * channel read up to seq, markRead({channel, seqs: [..]}) those messages (POST /push/read, or
 * the WebSocket op read); unread({channel | channels}) answers the unread counts, of those
 * channels only when given (GET /push/unread, or the op unread). With the subscribe key the
 * token of "user-<id>" goes in options.token (or the subscription's). Over a WebSocket a
 * request the socket could not answer goes over HTTP (both are idempotent). */
Connection.prototype._readRequest = function (op, options, params) {
    var user = options.user || this.user, sub = this.subs["user-" + user];
    var token = options.token || (sub && sub.token) || null;
    var done = reportTo(options.onSuccess, options.onFailed), socket = this._socket(), self = this;
    var path = op === "read" ? "/push/read" : "/push/unread";
    params.user = user;
    params.token = token;
    function overHttp(finish) {
        var query = {}, key;
        for (key in params) {
            if (owns(params, key) && params[key] !== null && params[key] !== undefined) {
                query[key] = isArray(params[key]) ? params[key].join(",") : params[key];
            }
        }
        if (op === "unread" && query.channels !== undefined) {
            query.channel = query.channels || null;
            delete query.channels;
        }
        self._http(op === "read" ? "POST" : "GET", path, query, finish);
    }
    if (!socket) {
        overHttp(done);
        return;
    }
    var request = { op: op }, tokens = [], key;
    for (key in params) {
        if (owns(params, key) && key !== "token" && params[key] !== null && params[key] !== undefined) {
            request[key] = params[key];
        }
    }
    if (token) {
        tokens.push(token);
    }
    if (this.token && this.token !== token) {
        tokens.push(this.token);
    }
    if (tokens.length) {
        request.token = tokens;
    }
    socket.request(request, done, overHttp);
};

Connection.prototype.markRead = function (options) {
    var params = { channel: options.channel };
    if (options.seqs !== undefined && options.seqs !== null) {
        params.seqs = isArray(options.seqs) ? options.seqs : String(options.seqs).split(",");
        for (var i = 0; i < params.seqs.length; i++) {
            params.seqs[i] = Number(params.seqs[i]);
        }
    } else {
        params.seq = options.seq;
    }
    this._readRequest("read", options, params);
};

Connection.prototype.unread = function (options) {
    var channels = options.channels || (options.channel ? [options.channel] : []);
    this._readRequest("unread", options, { channels: isArray(channels) ? channels : [channels] });
};

/* What the user reads anywhere (any tab, any transport) as events: subscribes to
 * "read-user-<id>" (with options.token, the token of "user-<id>", or the connection's JWT)
 * and calls options.onRead({user, channel, read_seq, seqs, unread, time}) for each. */
Connection.prototype.subscribeReads = function (options) {
    var user = options.user || this.user;
    if (!user) {
        call(options.onFailed, { code: 400, content: "user: missing (connect with user, or give options.user)" });
        return;
    }
    var sub = this.subs["user-" + user];
    this.subscribe({
        channel: "read-user-" + user,
        token: options.token || (sub && sub.token) || this.token,
        onMessage: function (m) {
            var event = parseJSON(m.content);
            if (event && event.action === "read") {
                call(options.onRead, event);
            }
        },
        onSuccess: options.onSuccess,
        onFailed: options.onFailed
    });
};

Connection.prototype.disconnect = function () {
    if (this.state === "disconnected") {
        return;
    }
    var wasConnected = this.state === "connected", transport = this.transport;
    this.state = "disconnected";
    this._clearTimers();
    if (this.active) {
        /* A long-poll leaves presence now (a switch of transport keeps the same client id). */
        if (this.active._leave) {
            this.active._leave();
        }
        this.active.stop();
        this.active = null;
    }
    this.transport = null;
    if (wasConnected) {
        call(this.onDisconnected, { transport: transport, code: 1000, content: "disconnect() called" });
    }
};

/* ------------------------------------------------------------------------------------------
 * WebSocket transport: /push/ws, JSON ops (SPEC section 5). One object per socket.
 */

function WebSocketTransport(conn) {
    this.name = "websocket";
    this.conn = conn;
    this.ws = null;
    this.open = false;
    this.stopped = false;
    this.probe = false;
    this.nextId = 1;
    this.pending = {};   /* id -> {done, retryOverHttp} or {channel} for subscribe */
    this.timer = null;
}

WebSocketTransport.prototype.start = function () {
    var self = this, conn = this.conn, location = window.location, url;
    var params = { appkey: conn.appkey, client: conn.client, user: conn.user, token: conn.token, data: conn.data };
    if (conn.base) {
        url = conn.base.replace(/^http/i, "ws");
    } else {
        url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
    }
    url += "/push/ws?" + query(params);
    try {
        this.ws = new window.WebSocket(url);
    } catch (e) {
        window.setTimeout(function () { self._closed({ code: 0, content: "WebSocket: " + e.message }); }, 0);
        return;
    }
    this.timer = window.setTimeout(function () {
        self._closed({ code: 0, content: "WebSocket: did not open in time" });
    }, conn.options.wsOpenTimeout);
    this.ws.onopen = function () {
        if (self.stopped) {
            return;
        }
        window.clearTimeout(self.timer);
        self.open = true;
        if (self.probe && !conn._promote(self)) {
            self.stop();
            return;
        }
        var channel;
        for (channel in conn.subs) {
            if (owns(conn.subs, channel)) {
                self.subscribe(conn.subs[channel]);
            }
        }
        conn._up(self);
    };
    this.ws.onmessage = function (event) {
        if (!self.stopped) {
            self._receive(parseJSON(event.data));
        }
    };
    this.ws.onclose = function (event) {
        self._closed({ code: event.code || 0, content: "WebSocket closed" + (event.reason ? ": " + event.reason : "") });
    };
    this.ws.onerror = noop;
};

WebSocketTransport.prototype._send = function (message) {
    try {
        this.ws.send(stringify(message));
        return true;
    } catch (e) {
        return false;
    }
};

WebSocketTransport.prototype._receive = function (message) {
    if (!message || typeof message.op !== "string") {
        return;
    }
    var conn = this.conn, op = message.op, waiting = null;
    if (op === "message") {
        conn._deliver(message.channel, message.seq, message.content, message.time);
        return;
    }
    if (message.id !== undefined && owns(this.pending, message.id)) {
        waiting = this.pending[message.id];
        delete this.pending[message.id];
    }
    if (!waiting) {
        return;
    }
    if (waiting.channel !== undefined) {
        if (op === "error") {
            conn._subscribeFailed(waiting.channel, { code: message.code, content: message.content });
        } else if (conn.subs[waiting.channel] === waiting.sub) {
            /* A reset channel (head behind the seq asked for) starts again from its head. */
            if (message.gap && typeof message.seq === "number" && waiting.sub.seq !== null &&
                    message.seq < waiting.sub.seq) {
                waiting.sub.seq = message.seq;
            }
            conn._subscribed(waiting.channel, typeof message.seq === "number" ? message.seq : null);
        }
        return;
    }
    window.clearTimeout(waiting.timer);
    if (op === "error") {
        waiting.done({ code: message.code, content: message.content }, message);
    } else {
        message.code = message.code || 200;
        message.content = message.content !== undefined ? message.content : "OK";
        waiting.done(null, message);
    }
};

WebSocketTransport.prototype.subscribe = function (sub) {
    if (!this.open) {
        return;
    }
    var id = this.nextId++, message = { op: "subscribe", channel: sub.channel, id: id };
    if (sub.seq !== null) {
        message.since = sub.seq;
    }
    if (sub.token) {
        message.token = sub.token;
    }
    this.pending[id] = { channel: sub.channel, sub: sub };
    this._send(message);
};

WebSocketTransport.prototype.unsubscribe = function (channel) {
    if (this.open) {
        this._send({ op: "unsubscribe", channel: channel, id: this.nextId++ });
    }
};

/* Sends an op that expects a reply with the same id. retryOverHttp: idempotent, so if the
 * socket closes first the request goes over HTTP instead of failing. */
WebSocketTransport.prototype.request = function (message, done, idempotent) {
    var self = this, id = this.nextId++;
    message.id = id;
    var waiting = { done: done, message: message, idempotent: idempotent };
    waiting.timer = window.setTimeout(function () {
        if (owns(self.pending, id)) {
            delete self.pending[id];
            done({ code: 0, content: "timeout" }, null);
        }
    }, this.conn.options.requestTimeout);
    this.pending[id] = waiting;
    if (!this._send(message)) {
        window.clearTimeout(waiting.timer);
        delete this.pending[id];
        done({ code: 0, content: "WebSocket send failed" }, null);
    }
};

WebSocketTransport.prototype._closed = function (error) {
    if (this.stopped) {
        return;
    }
    var wasOpen = this.open, conn = this.conn;
    this._close();
    this._failPending(error);
    if (this.probe && !wasOpen) {
        conn._probeFailed(this);
    } else {
        conn._down(this, error, wasOpen);
    }
};

/* Replies that will not come now: idempotent requests go over HTTP, the rest fail. */
WebSocketTransport.prototype._failPending = function (error) {
    var id, waiting, conn = this.conn, pending = this.pending;
    this.pending = {};
    for (id in pending) {
        if (owns(pending, id)) {
            waiting = pending[id];
            if (waiting.done) {
                window.clearTimeout(waiting.timer);
                if (waiting.idempotent && waiting.message.op === "history") {
                    conn.history({ channel: waiting.message.channel, limit: waiting.message.limit,
                                   token: waiting.message.token, before: waiting.message.before,
                                   after: waiting.message.after,
                                   onSuccess: retryDone(waiting.done, false),
                                   onFailed: retryDone(waiting.done, true) });
                } else if (typeof waiting.idempotent === "function") {
                    waiting.idempotent(waiting.done);
                } else if (waiting.idempotent && waiting.message.op === "presence") {
                    conn._http("GET", "/push/presence", { channel: waiting.message.channel, user: conn.user },
                               presenceDone(waiting.done, waiting.message.channel));
                } else {
                    waiting.done({ code: 0, content: error.content }, null);
                }
            }
        }
    }
};

function retryDone(done, failed) {
    return function (result) {
        if (failed) {
            done(result, null);
        } else {
            done(null, result);
        }
    };
}

/* Turns an HTTP presence reply for one channel into the shape of the WebSocket op's. */
function presenceDone(done, channel) {
    return function (error, data) {
        if (error) {
            done(error, data);
            return;
        }
        var one = (data.channels && data.channels[channel]) || {};
        done(null, { clients: one.clients || 0, users: one.users || [], info: one.info || {} });
    };
}

WebSocketTransport.prototype._close = function () {
    this.stopped = true;
    this.open = false;
    window.clearTimeout(this.timer);
    if (this.ws) {
        this.ws.onopen = this.ws.onmessage = this.ws.onclose = noop;
        try {
            this.ws.close(1000);
        } catch (e) {
            /* not open yet or already closed */
        }
    }
};

/* Ends the socket without telling the connection (a switch or disconnect()). */
WebSocketTransport.prototype.stop = function () {
    if (!this.stopped) {
        this._close();
        this._failPending({ code: 0, content: "disconnected" });
    }
};

/* ------------------------------------------------------------------------------------------
 * Long-poll transport over XHR or JSONP: GET /push/poll with the cursor of every channel.
 *
 * New subscriptions are first checked with an immediate poll (timeout=0) of their own, which
 * answers the token check and the head seq of "from now"; the held poll then carries every
 * confirmed channel. One request is in flight at a time.
 */

function PollTransport(conn, name) {
    this.name = name;
    this.conn = conn;
    this.abort = null;     /* aborts the request in flight */
    this.stopped = false;
    this.wasUp = false;
    this.alone = false;    /* check new channels one at a time (a check of several failed) */
    this.refusals = 0;     /* held polls refused in a row */
    this.waitingLoad = false;
    this.polled = false;   /* a poll was sent: presence may hold this client */
    this.left = false;     /* _leave told the server */
    this.kickTimer = null;
    this.waitTimer = null;
}

/* The long-poll transports running: each leaves presence when the page goes away. */
var pollTransports = [];

function onPageHide() {
    for (var i = 0; i < pollTransports.length; i++) {
        pollTransports[i]._leave();
    }
}

if (window.addEventListener) {
    window.addEventListener("pagehide", onPageHide, false);
} else if (window.attachEvent) {
    window.attachEvent("onunload", onPageHide);
}

PollTransport.prototype.start = function () {
    pollTransports.push(this);
    this._cycle();
};

/* Tells the server this client left (POST /push/leave), so its presence and the offline and
 * leave events end now rather than when it expires: by navigator.sendBeacon where there is
 * one (it outlives the page), else by an image request (GET). Once, after a poll was sent. */
PollTransport.prototype._leave = function () {
    var conn = this.conn, params = { client: conn.client }, url, nav = window.navigator;
    if (this.left || !this.polled) {
        return;
    }
    this.left = true;
    conn._credentials(params);
    if (conn.user) {
        params.user = conn.user;
    }
    url = conn._url("/push/leave") + "?" + query(params);
    try {
        if (nav && nav.sendBeacon && nav.sendBeacon(url)) {
            return;
        }
    } catch (e) {
        /* an old sendBeacon that refuses: fall back */
    }
    if (window.Image) {
        (new window.Image()).src = url;
    }
};

PollTransport.prototype.stop = function () {
    for (var i = pollTransports.length - 1; i >= 0; i--) {
        if (pollTransports[i] === this) {
            pollTransports.splice(i, 1);
        }
    }
    this.stopped = true;
    window.clearTimeout(this.kickTimer);
    window.clearTimeout(this.waitTimer);
    if (this.abort) {
        this.abort();
        this.abort = null;
    }
};

/* The channel set changed: end the held poll and start over (once per tick). */
PollTransport.prototype._kick = function () {
    var self = this;
    if (this.stopped || this.kickTimer) {
        return;
    }
    this.kickTimer = window.setTimeout(function () {
        self.kickTimer = null;
        if (self.stopped) {
            return;
        }
        window.clearTimeout(self.waitTimer);
        if (self.abort) {
            self.abort();
            self.abort = null;
        }
        self._cycle();
    }, 0);
};

PollTransport.prototype.subscribe = function () {
    this._kick();
};

PollTransport.prototype.unsubscribe = function () {
    this._kick();
};

PollTransport.prototype._request = function (params, done) {
    var conn = this.conn, url = conn._url("/push/poll");
    this.polled = true;
    conn._credentials(params);
    params.client = conn.client;
    if (conn.user) {
        params.user = conn.user;
    }
    if (conn.data) {
        params.data = conn.data;
    }
    params._ = now();
    var timeout = params.timeout * 1000 + conn.options.requestTimeout;
    if (this.name === "jsonp") {
        return jsonpRequest(url, params, timeout, done);
    }
    return xhrRequest(conn.sameOrigin, "GET", url + "?" + query(params), null, timeout, done);
};

PollTransport.prototype._cycle = function () {
    var conn = this.conn, subs = conn.subs, channel, sub, fresh = [], held = [];
    this.abort = null;
    if (this.stopped) {
        return;
    }
    for (channel in subs) {
        if (owns(subs, channel)) {
            sub = subs[channel];
            if (!sub.confirmed || sub.recheck) {
                fresh.push(sub);
            } else {
                held.push(sub);
            }
        }
    }
    if (fresh.length > 0) {
        this._check(this.alone ? [fresh[0]] : fresh);
        return;
    }
    this.alone = false;
    if (held.length === 0) {
        /* Nothing to poll: the transport is usable as it is. */
        this._markUp();
        return;
    }
    var self = this, started = now();
    if (this.name === "jsonp" && !pageLoaded()) {
        if (!this.waitingLoad) {
            this.waitingLoad = true;
            loadWaiters.push(function () {
                self.waitingLoad = false;
                if (!self.stopped && !self.abort) {
                    self._cycle();
                }
            });
        }
        return;
    }
    var params = pollParams(held, conn.options.pollTimeout);
    this.abort = this._request(params, function (error, data) {
        self.abort = null;
        if (self.stopped) {
            return;
        }
        if (error && refused(error)) {
            /* A channel was refused (an expired token?): check each one again on its own,
             * after a pause in case the refusal is not about a channel. */
            for (var i = 0; i < held.length; i++) {
                held[i].recheck = true;
            }
            self.alone = held.length > 1;
            self.waitTimer = window.setTimeout(function () { self._cycle(); },
                backoffDelay(conn.options.backoff, conn.options.backoffMax, self.refusals++));
            return;
        }
        if (error) {
            self._failed(error);
            return;
        }
        self.refusals = 0;
        self._answered(data);
        /* An empty answer that came at once (the server is shutting down?): do not spin. */
        var empty = !data.more && (!data.messages || data.messages.length === 0);
        if (empty && now() - started < 500) {
            self.waitTimer = window.setTimeout(function () { self._cycle(); }, 1000);
        } else {
            self._cycle();
        }
    });
};

/* A refusal about the request itself, not the server's state. */
function refused(error) {
    return error.code >= 400 && error.code < 500 && error.code !== 401 && error.code !== 408 &&
        error.code !== 429;
}

/* channel, since (channels whose seq is known; the others start at their head), token. */
function pollParams(subs, timeout) {
    var names = [], cursor = [], tokens = [], params, i;
    for (i = 0; i < subs.length; i++) {
        names.push(subs[i].channel);
        if (subs[i].seq !== null) {
            cursor.push(subs[i].channel + ":" + subs[i].seq);
        }
        if (subs[i].token) {
            tokens.push(subs[i].token);
        }
    }
    params = { channel: names.join(","), timeout: timeout };
    if (cursor.length) {
        params.since = cursor.join(",");
    }
    if (tokens.length) {
        params.token = tokens.join(",");
    }
    return params;
}

/* An immediate poll of new channels: the server checks them (token, name) and tells where
 * "from now" is; messages after a given since come with it. */
PollTransport.prototype._check = function (fresh) {
    var self = this, conn = this.conn;
    this.abort = this._request(pollParams(fresh, 0), function (error, data) {
        var i;
        self.abort = null;
        if (self.stopped) {
            return;
        }
        if (error && refused(error)) {
            if (fresh.length > 1) {
                self.alone = true;
            } else {
                conn._subscribeFailed(fresh[0].channel, error);
            }
            self._cycle();
            return;
        }
        if (error) {
            self._failed(error);
            return;
        }
        self._answered(data);
        for (i = 0; i < fresh.length; i++) {
            fresh[i].recheck = false;
            if (conn.subs[fresh[i].channel] === fresh[i]) {
                conn._subscribed(fresh[i].channel, null);
            }
        }
        self._cycle();
    });
};

PollTransport.prototype._markUp = function () {
    if (!this.wasUp) {
        this.wasUp = true;
        this.conn._up(this);
    }
};

/* A poll answered: deliver its messages in order, then take the heads of "from now"
 * channels from the cursor. */
PollTransport.prototype._answered = function (data) {
    var messages = data.messages || [], gap = data.gap || [], conn = this.conn, heads, channel, sub;
    this._markUp();
    /* A channel in gap was pruned or reset under the cursor: take what comes as the new start. */
    for (var g = 0; g < gap.length; g++) {
        if (owns(conn.subs, gap[g])) {
            conn.subs[gap[g]].seq = null;
        }
    }
    for (var i = 0; i < messages.length && !this.stopped; i++) {
        conn._deliver(messages[i].channel, messages[i].seq, messages[i].content, messages[i].time);
    }
    heads = parseCursor(data.cursor);
    for (channel in heads) {
        if (owns(heads, channel) && owns(conn.subs, channel)) {
            sub = conn.subs[channel];
            if (sub.seq === null && !isNaN(heads[channel])) {
                sub.seq = heads[channel];
            }
        }
    }
};

PollTransport.prototype._failed = function (error) {
    this.stop();
    this.conn._down(this, error, this.wasUp);
};

function parseCursor(text) {
    var result = {}, parts = String(text || "").split(","), i, at;
    for (i = 0; i < parts.length; i++) {
        at = parts[i].lastIndexOf(":");
        if (at > 0) {
            result[parts[i].substring(0, at)] = Number(parts[i].substring(at + 1));
        }
    }
    return result;
}

/* ------------------------------------------------------------------------------------------ */

var Push = {
    version: VERSION,
    connect: function (options) {
        return new Connection(options || {});
    },
    _jsonp: jsonpCallbacks,
    _parseJSON: parseJSON,   /* for goeasy.js */
    /* true for a user id the server takes (1-64 bytes, see CHANNEL_NAME); for pages */
    validUser: function (id) {
        return nameValid(id, 64, USER_NAME);
    }
};

window.Push = Push;

}(this, this.document));
