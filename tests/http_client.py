"""http_client.py: one HTTP request for the Python test drivers (poll-clients.py, failover.py):
the status and the body's text, an HTTP error's too."""
import urllib.error
import urllib.parse
import urllib.request


def request(method, url, data=None, timeout=10):
    """(status, body text) of method on url with data (a dict, form-encoded) or none."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
