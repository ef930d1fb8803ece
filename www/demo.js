/* demo.js: the demo page's logic. ES3 like push.js, so the page itself runs in old IE.
 *
 * Settings come from window.PUSH_DEMO (demo-config.js, written by scripts/run) and the query
 * string, which wins: appkey, host, channel (default "demo"), user (joins at once),
 * transports (e.g. "xhr,jsonp"), tab ("notes" opens the notifications), server (the demo's
 * server side, scripts/demo-server.py: the page's JWTs and notifications). window.demo is an
 * inspection handle for tests and the console: the connection, and every message onMessage
 * received, in order.
 *
 * Notifications: the name's channel user-<name>, as the seed's MessageLog: each message with a
 * read flag, an unread badge, a click marks one read (push.markRead with seqs). Every tab of
 * the name follows what any tab reads through the read events of read-user-<name>
 * (push.subscribeReads): the badge is the server's unread count each event carries, the flags
 * fold the events (the read mark, single seqs). The page's token is a short-lived JWT for the
 * name from the server side, renewed before it ends; the page holds no key that opens
 * private channels. */
(function (window, document) {

var config = window.PUSH_DEMO || {};
var query = parseQuery(window.location.search);
var settings = {
    appkey: query.appkey || config.appkey || "",
    host: query.host !== undefined ? query.host : (config.host || ""),
    channel: query.channel || config.channel || "demo",
    transports: query.transports ? query.transports.split(",") : null,
    server: query.server !== undefined ? query.server : (config.server || ""),
    tab: query.tab === "notes" ? "notes" : "chat"
};
var MAX_SHOWN = 200;
var state = { push: null, user: null, shown: {}, presenceTimer: null, statusTimer: null,
              token: null, tokenTimer: null, notes: {}, readSeq: 0, readEach: {}, unread: 0 };
var demo = window.demo = { push: null, received: [], ready: false, errors: [],
                           notes: { ready: false, unread: 0, reads: [] } };

function $(id) {
    return document.getElementById(id);
}

function parseQuery(search) {
    var result = {}, parts = search.replace(/^\?/, "").split("&"), i, at, key;
    for (i = 0; i < parts.length; i++) {
        if (parts[i]) {
            at = parts[i].indexOf("=");
            key = decodeURIComponent(at < 0 ? parts[i] : parts[i].substring(0, at));
            result[key] = at < 0 ? "" : decodeURIComponent(parts[i].substring(at + 1).replace(/\+/g, " "));
        }
    }
    return result;
}

function on(element, event, fn) {
    element["on" + event] = function (e) {
        fn(e || window.event);
        return false;
    };
}

function clear(node) {
    while (node.firstChild) {
        node.removeChild(node.firstChild);
    }
}

function setText(node, text) {
    clear(node);
    node.appendChild(document.createTextNode(text));
}

function show(element, visible) {
    element.style.display = visible ? "" : "none";
}

function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
        node.className = className;
    }
    if (text !== undefined) {
        node.appendChild(document.createTextNode(text));
    }
    return node;
}

function pad(n) {
    return n < 10 ? "0" + n : String(n);
}

function clock(ms) {
    var d = ms ? new Date(ms) : new Date();
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}

/* Messages from this page are {"from", "text"}; anything else (a backend, curl) is shown as
 * it came. */
function readContent(content) {
    var data = null;
    if (window.JSON && /^\s*\{/.test(content)) {
        try {
            data = window.JSON.parse(content);
        } catch (e) {
            data = null;
        }
    }
    if (data && typeof data.text === "string") {
        return { from: typeof data.from === "string" ? data.from : "?", text: data.text };
    }
    return { from: null, text: content };
}

function randomName() {
    return "guest-" + Math.floor(1000 + Math.random() * 9000);
}

/* The characters of name a user id may hold (letters of any script, digits and _.=@-; see
 * Push.validUser), up to its 64 bytes. */
function cleanName(name) {
    var kept = "", ch, i;
    for (i = 0; i < name.length; i++) {
        ch = name.charAt(i);
        if (/[\ud800-\udbff]/.test(ch) && i + 1 < name.length) {
            ch += name.charAt(++i);
        }
        if (Push.validUser(kept + ch)) {
            kept += ch;
        }
    }
    return kept;
}

/* ---- status, presence, toasts ---- */

function setStatus(kind, text) {
    var node = $("status");
    node.className = "status status-" + kind;
    setText(node, text);
}

function refreshStatus() {
    var push = state.push;
    if (!push) {
        setStatus("idle", "not connected");
        setText($("transport"), "\u2013");
        return;
    }
    setText($("transport"), push.transport || "\u2013");
    if (push.state === "connected") {
        setStatus("up", "connected via " + push.transport);
    } else if (push.state === "connecting") {
        setStatus("busy", push.transport ? "connecting via " + push.transport + "\u2026" : "connecting\u2026");
    } else if (push.state === "failed") {
        setStatus("down", "failed");
    } else {
        setStatus("idle", "disconnected");
    }
}

function refreshPresence() {
    var push = state.push;
    if (!push || push.state !== "connected") {
        return;
    }
    push.hereNow({
        channels: [settings.channel],
        onSuccess: function (result) {
            var here = result.channels && result.channels[settings.channel];
            var clients = here ? here.clients : 0, users = here ? here.users || [] : [];
            var node = $("presence");
            setText(node, clients + (clients === 1 ? " tab" : " tabs") + " \u00b7 " +
                users.length + (users.length === 1 ? " person" : " people") + " online");
            node.title = users.length ? "online: " + users.join(", ") : "clients and distinct users on this channel";
        }
    });
}

function toast(title, text, kind) {
    var box = $("toasts"), node = element("div", "toast" + (kind ? " toast-" + kind : ""));
    node.appendChild(element("div", "toast-title", title));
    node.appendChild(element("div", "toast-text", text));
    box.appendChild(node);
    while (box.childNodes.length > 3) {
        box.removeChild(box.firstChild);
    }
    window.setTimeout(function () {
        node.className += " toast-out";
        window.setTimeout(function () {
            if (node.parentNode) {
                node.parentNode.removeChild(node);
            }
        }, 400);
    }, kind === "error" ? 8000 : 4500);
}

/* ---- the message list, ordered by seq ---- */

function addMessage(m, live) {
    if (state.shown[m.seq]) {
        return;
    }
    var list = $("messages"), body = readContent(m.content), item = element("li", "message");
    item.setAttribute("data-seq", String(m.seq));
    item.setAttribute("data-source", live ? "live" : "history");
    if (body.from !== null && body.from === state.user) {
        item.className += " mine";
    }
    item.appendChild(element("span", "time", clock(m.time)));
    item.appendChild(element("span", "from", body.from === null ? "#" + m.seq : body.from));
    item.appendChild(element("span", "text", body.text));
    state.shown[m.seq] = item;

    /* After the last shown message with a smaller seq. */
    var before = null, i, seq;
    for (i = list.childNodes.length - 1; i >= 0; i--) {
        seq = Number(list.childNodes[i].getAttribute("data-seq"));
        if (seq < m.seq) {
            break;
        }
        before = list.childNodes[i];
    }
    list.insertBefore(item, before);
    while (list.childNodes.length > MAX_SHOWN) {
        delete state.shown[list.firstChild.getAttribute("data-seq")];
        list.removeChild(list.firstChild);
    }
    show($("empty"), false);
    if (!before) {
        list.scrollTop = list.scrollHeight;
    }
}

/* ---- connecting ---- */

function join(name) {
    state.user = name;
    state.shown = {};
    clear($("messages"));
    show($("login"), false);
    show($("room"), true);
    show($("empty"), true);
    setText($("user-name"), name);
    setText($("channel-name"), settings.channel);
    setText($("curl-example"), "curl -d appkey=<publish key> -d channel=" + settings.channel +
        " --data-urlencode content='Hello from a backend' " + apiBase() + "/push/publish");
    $("notify-user").value = name;
    showTab(settings.tab);
    if (!settings.server) {
        notesOff("Notifications need the demo's server side (scripts/run starts it) for the page's token.");
        connect();
        return;
    }
    fetchToken(function (ok) {
        if (!ok) {
            notesOff("No token from the demo's server side: notifications are off.");
        }
        connect();
    });
    $("message").focus();
}

function apiBase() {
    return settings.host || window.location.protocol + "//" + window.location.host;
}

function connect() {
    var options = {
        host: settings.host,
        appkey: settings.appkey,
        user: state.user,
        token: state.token,
        onConnected: function () {
            refreshStatus();
            refreshPresence();
            /* The server records presence in batches: look again once this page is in. */
            window.setTimeout(refreshPresence, 2000);
        },
        onDisconnected: function () {
            refreshStatus();
        },
        onFailed: function (error) {
            demo.errors.push(error);
            refreshStatus();
            if (error.code === 401 || error.code === 400) {
                toast("Cannot connect", error.content, "error");
            }
        }
    };
    if (settings.transports) {
        options.transports = settings.transports;
    }
    var push = state.push = demo.push = window.Push.connect(options);
    push.subscribe({
        channel: settings.channel,
        onMessage: function (m) {
            var body = readContent(m.content);
            demo.received.push({ channel: m.channel, seq: m.seq, content: m.content });
            addMessage(m, true);
            if (body.from !== state.user) {
                toast(body.from === null ? settings.channel : body.from, body.text);
            }
        },
        onSuccess: function () {
            demo.ready = true;
            loadHistory();
        },
        onFailed: function (error) {
            demo.errors.push(error);
            toast("Cannot subscribe to " + settings.channel, error.content, "error");
        }
    });
    if (state.token) {
        subscribeNotes();
    }
    setText($("toggle"), "Disconnect");
    refreshStatus();
    window.clearInterval(state.statusTimer);
    window.clearInterval(state.presenceTimer);
    state.statusTimer = window.setInterval(refreshStatus, 1000);
    state.presenceTimer = window.setInterval(refreshPresence, 10000);
}

function loadHistory() {
    state.push.history({
        channel: settings.channel,
        limit: 20,
        onSuccess: function (result) {
            var messages = result.messages || [];
            for (var i = 0; i < messages.length; i++) {
                addMessage(messages[i], false);
            }
        }
    });
}

function disconnect() {
    window.clearInterval(state.presenceTimer);
    if (state.push) {
        state.push.disconnect();
    }
    state.push = demo.push = null;
    demo.ready = false;
    setText($("toggle"), "Connect");
    setText($("presence"), "\u00a0");
    refreshStatus();
}

function send() {
    var input = $("message"), text = input.value;
    if (!state.push || /^\s*$/.test(text)) {
        return;
    }
    var content = window.JSON ? window.JSON.stringify({ from: state.user, text: text }) : text;
    $("send-button").disabled = true;
    state.push.publish({
        channel: settings.channel,
        message: content,
        onSuccess: function () {
            $("send-button").disabled = false;
            input.value = "";
            input.focus();
        },
        onFailed: function (error) {
            $("send-button").disabled = false;
            toast("Not sent", error.content || "network error", "error");
        }
    });
}

/* ---- the demo's server side: tokens and notifications ---- */

/* A request to the demo's server side (another port: CORS). done(reply or null). */
function serverRequest(method, path, params, done) {
    var xhr = new window.XMLHttpRequest(), body = [], key;
    for (key in params) {
        if (Object.prototype.hasOwnProperty.call(params, key)) {
            body.push(encodeURIComponent(key) + "=" + encodeURIComponent(params[key]));
        }
    }
    var url = settings.server + path + (method === "GET" ? "?" + body.join("&") : "");
    xhr.open(method, url, true);
    if (method === "POST") {
        xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
    }
    xhr.onreadystatechange = function () {
        if (xhr.readyState !== 4) {
            return;
        }
        var reply = null;
        try {
            reply = window.JSON.parse(xhr.responseText);
        } catch (e) {
            reply = null;
        }
        done(reply);
    };
    xhr.send(method === "POST" ? body.join("&") : null);
}

/* Gets a JWT for the name, and renews it halfway through its life. done(true | false). */
function fetchToken(done) {
    serverRequest("GET", "/demo/token", { user: state.user }, function (reply) {
        if (!reply || reply.code !== 200) {
            demo.errors.push(reply || { code: 0, content: "demo server unreachable" });
            done(false);
            return;
        }
        var renewed = state.token !== null;
        state.token = reply.token;
        window.clearTimeout(state.tokenTimer);
        var life = reply.expires * 1000 - new Date().getTime();
        state.tokenTimer = window.setTimeout(function () { fetchToken(function () {}); }, Math.max(life / 2, 5000));
        if (renewed && state.push) {
            /* New requests, reconnections and the subscriptions take the new token. */
            state.push.token = state.token;
            subscribeNotes();
        }
        done(true);
    });
}

function notify() {
    var to = cleanName($("notify-user").value), text = $("notify-text").value;
    if (!to || /^\s*$/.test(text) || !settings.server) {
        return;
    }
    $("notify-button").disabled = true;
    serverRequest("POST", "/demo/notify", { user: to, text: text }, function (reply) {
        $("notify-button").disabled = false;
        if (!reply || reply.code !== 200) {
            toast("Not sent", (reply && reply.content) || "demo server unreachable", "error");
            return;
        }
        $("notify-text").value = "";
    });
}

/* ---- notifications: user-<name>, read flags, the unread badge ---- */

function showTab(tab) {
    show($("chat-pane"), tab !== "notes");
    show($("notes-pane"), tab === "notes");
    $("tab-chat").className = "tab" + (tab !== "notes" ? " tab-on" : "");
    $("tab-notes").className = "tab" + (tab === "notes" ? " tab-on" : "");
}

function notesOff(text) {
    setText($("notes-off"), text);
    show($("notes-off"), true);
    show($("notes-empty"), false);
}

function userChannel() {
    return "user-" + state.user;
}

function setBadge(n) {
    state.unread = demo.notes.unread = n;
    var badge = $("badge");
    setText(badge, String(n));
    badge.className = "badge" + (n ? "" : " badge-zero");
}

function isRead(seq) {
    return seq <= state.readSeq || state.readEach[seq] === true;
}

function refreshFlags() {
    var seq, item;
    for (seq in state.notes) {
        if (Object.prototype.hasOwnProperty.call(state.notes, seq)) {
            item = state.notes[seq];
            item.className = "message note" + (isRead(Number(seq)) ? " read" : "");
            item.setAttribute("data-read", isRead(Number(seq)) ? "true" : "false");
        }
    }
}

/* Takes in one read event (or the read state of a load): flags and, when given, the count. */
function applyRead(event) {
    if (event.channel !== userChannel()) {
        return;
    }
    if (typeof event.read_seq === "number" && event.read_seq > state.readSeq) {
        state.readSeq = event.read_seq;
    }
    var seqs = event.seqs || [], i;
    for (i = 0; i < seqs.length; i++) {
        state.readEach[seqs[i]] = true;
    }
    if (typeof event.unread === "number") {
        setBadge(event.unread);
    }
    refreshFlags();
}

function addNote(m) {
    if (state.notes[m.seq]) {
        return false;
    }
    var list = $("notes"), body = readContent(m.content), item = element("li", "message note");
    item.setAttribute("data-seq", String(m.seq));
    item.appendChild(element("span", "flag"));
    item.appendChild(element("span", "time", clock(m.time)));
    item.appendChild(element("span", "from", body.from === null ? "#" + m.seq : body.from));
    item.appendChild(element("span", "text", body.text));
    item.onclick = function () {
        markNote(m.seq);
        return false;
    };
    state.notes[m.seq] = item;
    /* Newest first. */
    var before = null, i;
    for (i = 0; i < list.childNodes.length; i++) {
        if (Number(list.childNodes[i].getAttribute("data-seq")) < m.seq) {
            before = list.childNodes[i];
            break;
        }
    }
    list.insertBefore(item, before);
    show($("notes-empty"), false);
    refreshFlags();
    return true;
}

function markNote(seq) {
    if (isRead(seq) || !state.push) {
        return;
    }
    state.push.markRead({
        channel: userChannel(),
        seqs: [seq],
        token: state.token,
        onFailed: function (error) {
            demo.errors.push(error);
            toast("Not marked read", error.content || "network error", "error");
        }
    });
}

/* Subscribes to the name's notifications and read events (again with a renewed token). */
function subscribeNotes() {
    var push = state.push;
    push.subscribeReads({
        token: state.token,
        onRead: function (event) {
            demo.notes.reads.push(event);
            applyRead(event);
        },
        onFailed: function (error) {
            demo.errors.push(error);
        }
    });
    push.subscribe({
        channel: userChannel(),
        token: state.token,
        onMessage: function (m) {
            if (addNote(m) && !isRead(m.seq)) {
                setBadge(state.unread + 1);
                toast("Notification", readContent(m.content).text);
            }
        },
        onSuccess: loadNotes,
        onFailed: function (error) {
            demo.errors.push(error);
            notesOff("Cannot subscribe to " + userChannel() + ": " + error.content);
        }
    });
}

/* The log: the latest 50 notifications, the read events so far (their flags), the count. */
function loadNotes() {
    var push = state.push;
    push.history({
        channel: userChannel(),
        limit: 50,
        token: state.token,
        onSuccess: function (result) {
            var messages = result.messages || [], i;
            for (i = 0; i < messages.length; i++) {
                addNote(messages[i]);
            }
            push.history({
                channel: "read-user-" + state.user,
                limit: 200,
                token: state.token,
                onSuccess: function (reads) {
                    var events = reads.messages || [], j, event;
                    for (j = 0; j < events.length; j++) {
                        event = window.JSON.parse(events[j].content);
                        event.unread = undefined;
                        applyRead(event);
                    }
                    countNotes();
                },
                onFailed: countNotes
            });
        }
    });
}

function countNotes() {
    state.push.unread({
        channels: [userChannel()],
        token: state.token,
        onSuccess: function (result) {
            var mine = result.channels && result.channels[userChannel()];
            applyRead({ channel: userChannel(), read_seq: mine ? mine.read_seq : 0, unread: mine ? mine.unread : 0 });
            demo.notes.ready = true;
        },
        onFailed: function (error) {
            demo.errors.push(error);
        }
    });
}

/* ---- start ---- */

on($("login"), "submit", function () {
    var name = cleanName($("name").value);
    if (!name) {
        setText($("login-error"), "A name is 1-64 letters, digits or _ . = @ -");
        return;
    }
    join(name);
});
on($("send"), "submit", send);
on($("notify"), "submit", notify);
on($("tab-chat"), "click", function () { showTab("chat"); });
on($("tab-notes"), "click", function () { showTab("notes"); });
on($("toggle"), "click", function () {
    if (state.push) {
        disconnect();
    } else {
        connect();
    }
});

if (!settings.appkey) {
    setText($("login-error"), "No appkey: start the service with scripts/run (it writes demo-config.js) " +
        "or open this page as demo.html?appkey=KEY.");
    $("join").disabled = true;
} else if (query.user) {
    join(cleanName(query.user) || randomName());
} else {
    $("name").value = randomName();
    $("name").focus();
}

}(window, document));
