#!/usr/bin/python3
"""System tests for a records directory ([records] sources = records/, as
the Debian package configures it): pldns starts with it empty, and a file
dropped into it later is served without a signal, in the format its
extension names; scratch files next to them are left alone.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_records_dir.py [NAME-SUBSTRING...]
"""

import os
import time

from harness import (Fail, daemon_extra, eq, expect, free_port, main, make_config,
                     query, run_pldns, test)

BLOB = "privatelink.blob.core.windows.net"


def a_of(port, name):
    r = query(port, name, timeout=2)
    return sorted(rd.to_text() for rr in r.answer for rd in rr if rr.rdtype == 1)


def wait_for(pred, what, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise Fail("timed out waiting for %s" % what)


def write_atomic(path, text):
    with open(path + ".part", "w") as f:
        f.write(text)
    os.rename(path + ".part", path)


@test("records directory: empty at start, then a CSV and a hosts file dropped "
      "into it are served without a signal; scratch files are not read")
def t_records_dir(ctx):
    os.makedirs(ctx.dir.join("records"))
    port = free_port()
    conf = make_config(port, upstreams=["127.0.0.1:%d" % free_port()],
                       timeout_ms=200, deadline_ms=400,
                       records={"sources": "records/"}, extra=daemon_extra())
    path = ctx.dir.write("pldns.ini", conf)
    rc, out, err = run_pldns(["check-config", "-c", path])
    eq((rc, out.strip()), (0, "configuration OK: 0 zones, 0 records"),
       "check-config with an empty records directory")
    d = ctx.pldns(conf, port=port)

    write_atomic(ctx.dir.join("records/10-portal.csv"),
                 "FQDN,IP Address\r\nacct.%s,10.3.0.1\r\n" % BLOB)
    wait_for(lambda: a_of(port, "acct.%s." % BLOB) == ["10.3.0.1"],
             "the record of a CSV dropped into the directory")
    eq(a_of(port, "acct.blob.core.windows.net."), ["10.3.0.1"],
       "its public name answered from it")

    # An editor's scratch file and a leftover of an upgrade: not records.
    ctx.dir.write("records/.10-portal.csv.swp", "not a CSV\x00\x01")
    ctx.dir.write("records/10-portal.csv.dpkg-old", "FQDN,IP Address\nbad,row,\n")
    write_atomic(ctx.dir.join("records/20-more.hosts"),
                 "10.3.0.2 other.%s\n" % BLOB)
    wait_for(lambda: a_of(port, "other.%s." % BLOB) == ["10.3.0.2"],
             "the record of a hosts file dropped into the directory")
    eq(a_of(port, "acct.%s." % BLOB), ["10.3.0.1"], "the CSV's record still")
    expect("rejected" not in d.log_text(), "no reload rejected over the "
           "scratch files", got=d.log_text()[-2000:])


if __name__ == "__main__":
    main()
