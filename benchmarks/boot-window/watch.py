"""Clients asking the appliance's API from its launch until it serves (see run-boot-window).

CLIENTS threads each GET URL/api/v1/vms every 10 ms, from the launch until SETTLE seconds after the first 200 (or
LIMIT seconds), and sort every answer into a kind:
  refused        nothing listens yet
  server-404     a 404 that is not a problem: the web server's own, before its filters are in place
  starting       503 with a problem of type urn:servicefarm:problem:starting (ask again)
  granted        200
  problem-404    a 404 problem: the API said "no such thing" while it was not whole
  other          anything else (a 5xx, a CXF HTML page, a timeout)
Prints one line of JSON: per kind the count and the seconds from the launch of its first and last answer, the
starting answers' details, and the seconds to the first 200.
"""
import base64
import collections
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request

url, login, clients, settle, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
auth = "Basic " + base64.b64encode(login.encode()).decode()
launched = time.time()
first_grant = [None]
lock = threading.Lock()
kinds = {}
details = collections.Counter()


def kind_of():
    request = urllib.request.Request(url + "/api/v1/vms")
    request.add_header("Authorization", auth)
    request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
            return "granted", None
    except urllib.error.HTTPError as e:
        body = e.read()
        problem = (e.headers.get("Content-Type") or "").startswith("application/problem+json")
        if e.code == 503 and problem and b"urn:servicefarm:problem:starting" in body:
            # the detail without its numbers: "the API is being published: 9 of 11 resources so far" counts as one
            return "starting", re.sub(r"\d+ of \d+", "n of m", json.loads(body).get("detail", ""))
        if e.code == 404:
            return ("problem-404" if problem else "server-404"), None
        return "other", "%d %s" % (e.code, body[:80])
    except (urllib.error.URLError, ConnectionError) as e:
        reason = getattr(e, "reason", e)
        return ("refused", None) if isinstance(reason, ConnectionRefusedError) else ("other", str(reason)[:80])
    except Exception as e:  # a timeout, a reset
        return "other", type(e).__name__


def client():
    while True:
        now = time.time()
        if (first_grant[0] and now - first_grant[0] > settle) or now - launched > limit:
            return
        kind, detail = kind_of()
        at = time.time() - launched
        with lock:
            seen = kinds.setdefault(kind, [0, at, at])
            seen[0] += 1
            seen[2] = at
            if detail:
                details[kind + ": " + detail] += 1
            if kind == "granted" and first_grant[0] is None:
                first_grant[0] = time.time()
        time.sleep(0.01)


threads = [threading.Thread(target=client) for _ in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({
    "firstGrantS": None if first_grant[0] is None else round(first_grant[0] - launched, 2),
    "kinds": {k: {"count": v[0], "fromS": round(v[1], 2), "toS": round(v[2], 2)} for k, v in kinds.items()},
    "details": dict(details)}))
