#!/usr/bin/python3
"""Closed-loop load client of bench/http.sh, the same for both sides:
CLIENTS processes each call for DURATION seconds, one call at a time on one
kept-open connection, and time every call.

  http_client.py http PORT KEY BODY CLIENTS DURATION
  http_client.py sql ROLE BODY CLIENTS DURATION     (libpq settings from PG* variables)

BODY is the JSON body {"rows": [...]}; the SQL side runs the statement the
endpoint runs, ml_predict over jsonb_array_elements of the same rows.
Prints: calls calls/s p50 p95 p99 (ms) errors.
"""
import http.client
import json
import multiprocessing as mp
import sys
import time

SQL = "SELECT jsonb_agg(ml_predict('homes', r)) FROM jsonb_array_elements(%s::jsonb) r"


def http_worker(args, q):
    port, key, body, duration = args
    c = http.client.HTTPConnection("127.0.0.1", int(port))
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    lat, errors, end = [], 0, time.monotonic() + duration
    while time.monotonic() < end:
        t = time.perf_counter()
        c.request("POST", "/v1/projects/homes/predict", body, headers)
        r = c.getresponse()
        r.read()
        lat.append(time.perf_counter() - t)
        errors += r.status != 200
    q.put((lat, errors))


def sql_worker(args, q):
    import psycopg2
    role, body, duration = args
    conn = psycopg2.connect(options="-c role=" + role)
    conn.autocommit = True
    cur = conn.cursor()
    rows = json.dumps(json.loads(body)["rows"])
    lat, errors, end = [], 0, time.monotonic() + duration
    while time.monotonic() < end:
        t = time.perf_counter()
        cur.execute(SQL, (rows,))
        cur.fetchall()
        lat.append(time.perf_counter() - t)
    q.put((lat, errors))


def main():
    mode = sys.argv[1]
    if mode == "http":
        fixed, clients, duration = sys.argv[2:5], int(sys.argv[5]), float(sys.argv[6])
        worker = http_worker
    else:
        fixed, clients, duration = sys.argv[2:4], int(sys.argv[4]), float(sys.argv[5])
        worker = sql_worker
    q = mp.Queue()
    procs = [mp.Process(target=worker, args=(tuple(fixed) + (duration,), q)) for _ in range(clients)]
    for p in procs:
        p.start()
    lat, errors = [], 0
    for _ in procs:
        part, e = q.get()
        lat += part
        errors += e
    for p in procs:
        p.join()
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1000
    print("%d %.1f %.3f %.3f %.3f %d" % (len(lat), len(lat) / duration, pct(0.50), pct(0.95), pct(0.99), errors))


if __name__ == "__main__":
    main()
