/* goeasy.js: GoEasy's JavaScript API (1.x "new GoEasy" and 2.x "GoEasy.getInstance") on top of
 * push.js, so a page written for GoEasy runs here. ES3, one global: GoEasy. Load push.js
 * first, or goeasy.min.js alone (both in one file). See www/README.md for what differs. */
(function (window) {

var Push = window.Push;

function owns(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
}

function isArray(value) {
    return Object.prototype.toString.call(value) === "[object Array]";
}

/* Runs a user callback; what it throws is rethrown later, away from our state. */
function call(fn, arg) {
    if (typeof fn !== "function") {
        return;
    }
    try {
        if (arguments.length > 1) {
            fn(arg);
        } else {
            fn();
        }
    } catch (e) {
        window.setTimeout(function () { throw e; }, 0);
    }
}

function later(fn, arg) {
    window.setTimeout(function () { call(fn, arg); }, 0);
}

function failure(code, content) {
    return { code: code, content: content };
}

/* The error push.js reported, in GoEasy's {code, content}. */
function errorOf(error) {
    return failure(error && typeof error.code === "number" ? error.code : 0,
                   error && error.content !== undefined ? String(error.content) : "failed");
}

var BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url (with or without padding) to a string of bytes; null when malformed. */
function base64urlDecode(text) {
    var out = "", bits = 0, value = 0, i, c, n;
    text = text.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    for (i = 0; i < text.length; i++) {
        c = text.charAt(i);
        n = BASE64.indexOf(c);
        if (n < 0) {
            return null;
        }
        value = (value << 6) | n;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += String.fromCharCode((value >> bits) & 255);
        }
    }
    return out;
}

/* The sub claim of a JWT (UTF-8 decoded), "" when it has none, null when the token is not a
 * readable JWT (the server decides about such tokens). */
function tokenSubject(token) {
    var parts = String(token).split("."), bytes, claims;
    if (parts.length !== 3) {
        return null;
    }
    bytes = base64urlDecode(parts[1]);
    if (bytes === null) {
        return null;
    }
    try {
        claims = Push._parseJSON(decodeURIComponent(escape(bytes)));
    } catch (e) {
        return null;
    }
    if (!claims || typeof claims !== "object") {
        return null;
    }
    return typeof claims.sub === "string" ? claims.sub : "";
}

/* GoEasy's userData / data: an object, or JSON text of one (1.x passes text). */
function userDataOf(data) {
    if (typeof data === "string") {
        var parsed = Push._parseJSON(data);
        return parsed && typeof parsed === "object" ? parsed : {};
    }
    return data && typeof data === "object" ? data : {};
}

function channelsOf(options) {
    var channels = options.channels || (options.channel !== undefined ? [options.channel] : []);
    return isArray(channels) ? channels : [channels];
}

/* ------------------------------------------------------------------------------------------
 * A client: one push.js connection, the user it speaks for, and GoEasy's calls on it. Both
 * API forms share it; they differ in how results reach the caller.
 */

/* push.js options a GoEasy page may set too. */
var PASSED = ["transports", "client", "wsOpenTimeout", "wsRetry", "wsRetryMax", "pollTimeout",
              "requestTimeout", "backoff", "backoffMax"];

function Client(options) {
    this.options = options;
    this.push = null;
    this.userId = null;
    this.userData = {};
    this.token = null;
    this.everConnected = false;
}

/* Opens the connection. events: connected(), disconnected(), failed(error). Returns an error
 * ({code, content}) instead when the identity is refused, else null. */
Client.prototype.open = function (userId, userData, token, events) {
    var options = this.options;
    if (!options.appkey) {
        return failure(400, "appkey: missing");
    }
    if (userId !== undefined && userId !== null && userId !== "") {
        userId = String(userId);
    } else {
        userId = null;
    }
    if (token) {
        var sub = tokenSubject(token);
        if (sub !== null && userId !== null && sub !== userId) {
            return failure(401, "userId: must equal the token's sub (" + sub + ")");
        }
        if (sub) {
            userId = sub;
        }
    }
    this.userId = userId;
    this.userData = userDataOf(userData);
    this.token = token || null;
    /* The token goes with every request: its sub is the user, its info what presence shows. */
    var self = this, settings = { appkey: options.appkey, host: options.host, user: userId, token: token || null }, i;
    /* Without a token the page's userData goes to the server as data=: in an app with claimed
     * users presence shows it to others marked verified: false (a token's info says more). */
    var given = typeof userData === "string" ? Push._parseJSON(userData) : userData;
    if (!token && userId !== null && given && typeof given === "object" && !isArray(given)) {
        settings.data = userData;
    }
    for (i = 0; i < PASSED.length; i++) {
        if (owns(options, PASSED[i])) {
            settings[PASSED[i]] = options[PASSED[i]];
        }
    }
    /* Events come after open() returns, as GoEasy's do (push.js may be up at once). */
    settings.onConnected = function () {
        window.setTimeout(function () {
            self.everConnected = true;
            events.connected();
        }, 0);
    };
    settings.onDisconnected = function () {
        window.setTimeout(function () { events.disconnected(); }, 0);
    };
    settings.onFailed = function (error) {
        window.setTimeout(function () { events.failed(errorOf(error)); }, 0);
    };
    this.push = Push.connect(settings);
    return null;
};

Client.prototype.status = function () {
    var state = this.push ? this.push.state : "disconnected";
    if (state === "connecting" && this.everConnected) {
        return "reconnecting";
    }
    return state === "failed" ? "disconnected" : state;
};

/* subscribe({channel | channels, onMessage, token}) and done(error) once every channel is
 * confirmed or the first one failed. */
Client.prototype.subscribe = function (options, done) {
    var channels = channelsOf(options), left = channels.length, finished = false, i;
    if (!this.push) {
        later(done, failure(400, "not connected: connect() first"));
        return;
    }
    if (left === 0) {
        later(done, failure(400, "channel: missing"));
        return;
    }
    function confirmed() {
        if (!finished && --left === 0) {
            finished = true;
            call(done, null);
        }
    }
    function failed(error) {
        if (!finished) {
            finished = true;
            call(done, errorOf(error));
        }
    }
    for (i = 0; i < channels.length; i++) {
        this.push.subscribe({
            channel: String(channels[i]),
            token: options.token || this.token,
            onMessage: messageHandler(options.onMessage),
            onSuccess: confirmed,
            onFailed: failed
        });
    }
};

/* GoEasy's message: channel, content, time (ms); seq too. */
function messageHandler(onMessage) {
    return function (m) {
        call(onMessage, { channel: m.channel, content: m.content, time: m.time, seq: m.seq });
    };
}

Client.prototype.unsubscribe = function (options, done) {
    var channels = channelsOf(options), i;
    if (!this.push || channels.length === 0) {
        later(done, failure(400, this.push ? "channel: missing" : "not connected: connect() first"));
        return;
    }
    for (i = 0; i < channels.length; i++) {
        this.push.unsubscribe({ channel: String(channels[i]) });
    }
    later(done, null);
};

Client.prototype.publish = function (options, done) {
    if (!this.push) {
        later(done, failure(400, "not connected: connect() first"));
        return;
    }
    var message = options.message;
    if (message === undefined || message === null || message === "") {
        later(done, failure(400, "message: missing"));
        return;
    }
    this.push.publish({
        channel: options.channel,
        message: message,
        msgid: options.msgid,
        onSuccess: function () { call(done, null); },
        onFailed: function (error) { call(done, errorOf(error)); }
    });
};

var HISTORY_PAGE = 100;
var HISTORY_DEFAULT = 10;

/* GoEasy's history: the newest `limit` messages with start <= time <= end (ms, both
 * optional), oldest first. Pages back through the channel until start is passed.
 * done(error, {messages: [{time, content}]}). */
Client.prototype.history = function (options, done) {
    if (!this.push) {
        later(done, failure(400, "not connected: connect() first"));
        return;
    }
    var self = this, limit = Number(options.limit) || HISTORY_DEFAULT;
    var start = typeof options.start === "number" ? options.start : null;
    var end = typeof options.end === "number" ? options.end : null;
    var kept = [];
    function page(before) {
        var request = {
            channel: options.channel,
            limit: HISTORY_PAGE,
            token: options.token || self.token,
            onSuccess: function (r) {
                var messages = r.messages || [], i, m, older = false;
                for (i = messages.length - 1; i >= 0 && kept.length < limit; i--) {
                    m = messages[i];
                    if (start !== null && m.time < start) {
                        older = true;
                        break;
                    }
                    if (end === null || m.time <= end) {
                        kept.unshift({ time: m.time, content: m.content });
                    }
                }
                var first = messages.length ? messages[0].seq : 0;
                if (older || kept.length >= limit || messages.length < HISTORY_PAGE || first <= 1) {
                    done(null, { messages: kept });
                } else {
                    page(first);
                }
            },
            onFailed: function (error) { done(errorOf(error), null); }
        };
        if (before !== null) {
            request.before = before;
        }
        self.push.history(request);
    }
    page(null);
};

/* hereNow of channels: done(error, {channel: {clients, users: [{id, data}]}}). Users come
 * from the server (distinct ids); their data is known here for this page's own user only. */
Client.prototype.hereNow = function (channels, done) {
    if (!this.push) {
        later(done, failure(400, "not connected: connect() first"));
        return;
    }
    var self = this;
    this.push.hereNow({
        channels: channels,
        token: this.token,
        onSuccess: function (r) {
            var result = {}, i, c, one, users, j, data;
            for (i = 0; i < channels.length; i++) {
                c = channels[i];
                one = (r.channels && r.channels[c]) || { clients: 0, users: [] };
                users = [];
                /* A user's data: their token's info claim as presence keeps it, or
                 * {verified: false} for a user who only claimed an id; this page's own
                 * userData for its own user when presence has no more than that. */
                for (j = 0; j < (one.users || []).length; j++) {
                    data = one.info && owns(one.info, one.users[j]) ? one.info[one.users[j]] : null;
                    if (one.users[j] === self.userId && (!data || data.verified === false)) {
                        data = self.userData;
                    }
                    users.push({ id: one.users[j], data: data || {} });
                }
                result[c] = { clients: one.clients || 0, users: users };
            }
            done(null, result);
        },
        onFailed: function (error) { done(errorOf(error), null); }
    });
};

/* Presence events of channel (see sql/migrations/011_goeasy.sql): a subscription to
 * "presence-<channel>"; onEvent gets each event as the server wrote it, done(error) as for
 * subscribe. */
Client.prototype.subscribePresence = function (options, onEvent, done) {
    var channel = options.channel;
    if (!channel) {
        later(done, failure(400, "channel: missing"));
        return;
    }
    this.subscribe({
        channel: "presence-" + channel,
        token: options.token,
        onMessage: function (m) {
            var event = Push._parseJSON(m.content);
            if (event && typeof event.action === "string") {
                event.channel = channel;
                onEvent(event);
            }
        }
    }, done);
};

Client.prototype.unsubscribePresence = function (options, done) {
    this.unsubscribe({ channel: options.channel ? "presence-" + options.channel : undefined }, done);
};

Client.prototype.disconnect = function () {
    if (this.push) {
        this.push.disconnect();
    }
};

/* The onSuccess() / onFailed(error) pair of subscribe, unsubscribe and publish. */
function settle(options) {
    return function (error) {
        if (error) {
            call(options.onFailed, error);
        } else {
            call(options.onSuccess);
        }
    };
}

/* Calls the caller's callback form (1.x: one callback with the whole response) and the
 * onSuccess / onFailed form. */
function respond(options, callback, error, content) {
    var response = error ? error : { code: 200, content: content };
    if (typeof callback === "function") {
        call(callback, response);
    }
    if (error) {
        call(options.onFailed, error);
    } else {
        call(options.onSuccess, response);
    }
}

/* ------------------------------------------------------------------------------------------
 * GoEasy 1.x: new GoEasy({host, appkey, userId, userData, token, onConnected,
 * onDisconnected, onConnectFailed}).
 */

function GoEasy(options) {
    if (!(this instanceof GoEasy)) {
        return new GoEasy(options);
    }
    options = options || {};
    var client = new Client(options);
    this._client = client;
    var error = client.open(options.userId, options.userData, options.token, {
        connected: function () { call(options.onConnected); },
        disconnected: function () { call(options.onDisconnected); },
        failed: function (e) { call(options.onConnectFailed, e); }
    });
    if (error) {
        later(options.onConnectFailed, error);
    }
}

GoEasy.version = Push.version;

GoEasy.prototype.subscribe = function (options) {
    options = options || {};
    this._client.subscribe(options, settle(options));
};

GoEasy.prototype.unsubscribe = function (options) {
    options = options || {};
    this._client.unsubscribe(options, settle(options));
};

GoEasy.prototype.publish = function (options) {
    options = options || {};
    this._client.publish(options, settle(options));
};

/* history({channel, start, end, limit}, callback): callback({code, content: {messages}}). */
GoEasy.prototype.history = function (options, callback) {
    options = options || {};
    this._client.history(options, function (error, content) {
        respond(options, callback, error, content);
    });
};

/* hereNow({channels, includeUsers, distinct}, callback): callback({code, content: {channels:
 * {c: {channel, clientAmount, userAmount, users}}}}). users only with includeUsers. */
GoEasy.prototype.hereNow = function (options, callback) {
    options = options || {};
    var channels = channelsOf(options);
    this._client.hereNow(channels, function (error, result) {
        var content = null, c, i;
        if (!error) {
            content = { channels: {} };
            for (i = 0; i < channels.length; i++) {
                c = channels[i];
                content.channels[c] = { channel: c, clientAmount: result[c].clients,
                                        userAmount: result[c].users.length };
                if (options.includeUsers) {
                    content.channels[c].users = result[c].users;
                }
            }
        }
        respond(options, callback, error, content);
    });
};

/* subscribePresence({channel, onPresence, onSuccess, onFailed}): onPresence({action: "join" |
 * "leave" | "online" | "offline", channel, userId, userData, clientId, time, clientAmount,
 * userAmount}). */
GoEasy.prototype.subscribePresence = function (options) {
    options = options || {};
    this._client.subscribePresence(options, function (event) {
        call(options.onPresence, event);
    }, settle(options));
};

GoEasy.prototype.unsubscribePresence = function (options) {
    options = options || {};
    this._client.unsubscribePresence(options, settle(options));
};

GoEasy.prototype.getConnectionStatus = function () {
    return this._client.status();
};

GoEasy.prototype.disconnect = function () {
    this._client.disconnect();
};

/* ------------------------------------------------------------------------------------------
 * GoEasy 2.x: GoEasy.getInstance({host, appkey, modules}), connect({id, data, token,
 * onSuccess, onFailed, onProgress}), goeasy.pubsub.*, disconnect().
 */

function Instance(options) {
    this._client = new Client(options);
    this.pubsub = new PubSub(this._client);
    this.options = options;
    this.connectedOnce = false;
    this.attempts = 0;
}

Instance.prototype.connect = function (options) {
    options = options || {};
    var self = this;
    if (this._client.push) {
        later(options.onFailed, failure(408, "connect: already connected or connecting"));
        return;
    }
    var error = this._client.open(options.id, options.data, options.token, {
        connected: function () {
            if (!self.connectedOnce) {
                self.connectedOnce = true;
                call(options.onSuccess);
            }
        },
        disconnected: function () {
            self.attempts = 0;
        },
        failed: function (e) {
            if (!self.connectedOnce) {
                call(options.onFailed, e);
            }
            call(options.onProgress, ++self.attempts);
        }
    });
    if (error) {
        later(options.onFailed, error);
    }
};

Instance.prototype.disconnect = function (options) {
    this._client.disconnect();
    this._client.push = null;
    this.connectedOnce = false;
    later(options && options.onSuccess);
};

Instance.prototype.getConnectionStatus = function () {
    return this._client.status();
};

function PubSub(client) {
    this._client = client;
}

PubSub.prototype.subscribe = function (options) {
    options = options || {};
    this._client.subscribe(options, settle(options));
};

PubSub.prototype.unsubscribe = function (options) {
    options = options || {};
    this._client.unsubscribe(options, settle(options));
};

PubSub.prototype.publish = function (options) {
    options = options || {};
    this._client.publish(options, settle(options));
};

/* history({channel, limit, start, end, onSuccess, onFailed}): onSuccess({code, content:
 * {messages}}). */
PubSub.prototype.history = function (options) {
    options = options || {};
    this._client.history(options, function (error, content) {
        respond(options, null, error, content);
    });
};

/* hereNow({channel, limit, onSuccess, onFailed}): onSuccess({code, content: {channel,
 * amount, members: [{id, data}]}}), amount counting users. */
PubSub.prototype.hereNow = function (options) {
    options = options || {};
    var channel = options.channel, limit = Number(options.limit) || 10;
    this._client.hereNow([channel], function (error, result) {
        var content = null;
        if (!error) {
            content = { channel: channel, amount: result[channel].users.length,
                        members: result[channel].users.slice(0, limit) };
        }
        respond(options, null, error, content);
    });
};

/* subscribePresence({channel, onPresence, onSuccess, onFailed}): onPresence({action: "join" |
 * "leave", member: {id, data}, amount}) once per user, amount counting users. */
PubSub.prototype.subscribePresence = function (options) {
    options = options || {};
    this._client.subscribePresence(options, function (event) {
        if (event.action === "join" || event.action === "leave") {
            call(options.onPresence, { action: event.action, member: { id: event.userId, data: event.userData },
                                       amount: event.userAmount, time: event.time });
        }
    }, settle(options));
};

PubSub.prototype.unsubscribePresence = function (options) {
    options = options || {};
    this._client.unsubscribePresence(options, settle(options));
};

var instance = null;

/* One instance per page, as GoEasy 2.x has it. */
GoEasy.getInstance = function (options) {
    if (!instance) {
        instance = new Instance(options || {});
    }
    return instance;
};

window.GoEasy = GoEasy;

}(this));
