"""Runs the published Python client (kxy-open-id-client 0.2.1), unchanged, against a server.

Usage: python old_client_check.py BASE_URL SYSTEM DB
The counters SYSTEM:DB:orders:id (at 0) and SYSTEM:DB:big:id (just below 2^53) must exist.
Prints one JSON line with what it saw; exits non-zero on any failure.
"""
import json
import sys
import threading

from kxy_open_id_client import IdGenerator, IdGeneratorFactory, OpenIdAPIError, SegmentClient

base_url, system, db = sys.argv[1:4]
client = SegmentClient(base_url=base_url, timeout=10.0)

first = client.allocate_segment(system_code=system, db_name=db, table_name="orders", field_name="id", segment_count=10)
assert (first.start, first.end) == (1, 10), first

# Integers past 2^53 arrive as strings; the client's pydantic model must still read them exactly.
big = client.allocate_segment(system_code=system, db_name=db, table_name="big", field_name="id", segment_count=10)
assert big.start == 2**53 - 1 and big.end == 2**53 + 8, big

# Threaded IdGenerator: every ID unique.
gen = IdGenerator(client, system, db, "orders", "id", segment_count=100)
ids = []
lock = threading.Lock()

def worker():
    mine = [gen.next_id() for _ in range(500)]
    with lock:
        ids.extend(mine)

threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert len(ids) == 4000 and len(set(ids)) == 4000, "duplicate IDs"
assert min(ids) > first.end, "IDs repeated from the first segment"

factory = IdGeneratorFactory(client, system, db, segment_count=50)
a = factory.get_generator("orders")
assert factory.get_generator("orders") is a
from_factory = [a.next_id() for _ in range(120)]
assert len(set(from_factory)) == 120 and not set(from_factory) & set(ids)

# A handled failure surfaces as the client's API error with the envelope's code.
try:
    client.allocate_segment(system_code=system, db_name=db, table_name="orders", field_name="id", segment_count=0)
    raise AssertionError("segment_count=0 must be refused")
except Exception as e:  # pydantic refuses it client-side (ge=1) before any request
    refused_locally = type(e).__name__
try:
    client.allocate_segment(system_code="no-such-system", db_name=db, table_name="t", field_name="id", segment_count=1)
    raise AssertionError("an unknown system must be an error")
except OpenIdAPIError as e:
    assert e.code == 404, e

print(json.dumps({"ok": True, "ids": len(ids), "big_end": big.end, "refused_locally": refused_locally}))
