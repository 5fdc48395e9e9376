"""Clients that honour Retry-After, many more offerings than the hosts hold (see run-overload).

Each client thread asks for a random offering of the catalog's first OFFERINGS (deadline 200 ms), and on RETRY_LATER
sleeps the Retry-After and asks again with the answer's retry ticket, until it is granted (or gives up after 8 tries),
then asks for the next. Prints one line of JSON: grants, tries, give-ups, p50/p90 seconds from first ask to grant,
and how many restores the appliance made (from its audit trail).
"""
import base64
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request

url, login, clients, offerings, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
auth = "Basic " + base64.b64encode(login.encode()).decode()


def call(method, path, body=None):
    request = urllib.request.Request(url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Authorization", auth)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"{}")


catalog = call("GET", "/api/v1/catalog/offerings?limit=%d" % offerings)[2]["offerings"]
lock = threading.Lock()
grants, tries, gave_up, waits, failures = [0], [0], [0], [], []
stop = time.time() + seconds


def client(seed):
    rnd = random.Random(seed)
    while time.time() < stop:
        body, started, attempts = dict(rnd.choice(catalog), deadlineMs=200), time.time(), 0
        while True:
            status, headers, answer = call("POST", "/api/v1/requests", body)
            attempts += 1
            if status == 200:
                with lock:
                    grants[0] += 1
                    tries[0] += attempts
                    waits.append(time.time() - started)
                break
            if status != 503:
                with lock:
                    failures.append("%d %s" % (status, answer.get("detail")))
                break
            if attempts >= 8:
                with lock:
                    gave_up[0] += 1
                break
            body["retryTicket"] = answer.get("retryTicket")
            time.sleep(float(headers.get("Retry-After", "1")))


threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()

# restores, from the audit trail (whether a restore was undone before its client came back cannot be read from it: a
# request is audited when it is answered, which under load is later than its grant)
restores, query = 0, "/api/v1/audit?limit=1000"
while query:
    page = call("GET", query)[2]
    restores += sum(1 for e in page["entries"] if e["action"] == "move" and e["outcome"] == "RESTORING -> ACTIVE")
    query = page.get("next")
waits.sort()
print(json.dumps({"grants": grants[0], "tries": tries[0], "gaveUp": gave_up[0], "failures": len(failures),
                  "p50s": round(waits[len(waits) // 2], 2) if waits else None,
                  "p90s": round(waits[int(len(waits) * 0.9)], 2) if waits else None,
                  "restores": restores}))
if failures:
    print("failures, e.g.: " + "; ".join(failures[:3]), file=sys.stderr)
