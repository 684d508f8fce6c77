#!/usr/bin/env python3
"""nsfwd.py - a TCP port on this namespace's loopback forwarded into another network
namespace's loopback: how `make demo` (scripts/demo.sh) makes the NOC page of tollgated,
which runs in the lab's router namespace, reachable from a browser on the machine itself.

    nsfwd.py NETNS_PATH PORT_FILE [TARGET_PORT]

Binds 127.0.0.1 on a free port here (only loopback: nothing outside the machine reaches
it, and no interface of the host is touched), writes that port to PORT_FILE, enters the
namespace (setns(2) on NETNS_PATH, e.g. /run/netns/NAME) and forwards every connection to
127.0.0.1:TARGET_PORT there (default: the same port number, so that the Host header the
browser sends names the port tollgated listens on). Runs until killed. Needs root.
"""
import asyncio
import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000


async def pump(src, dst):
    """Copy src to dst until src ends; then end dst's side too."""
    try:
        while True:
            data = await src.read(65536)
            if not data:
                break
            dst.write(data)
            await dst.drain()
        if dst.can_write_eof():
            dst.write_eof()
    except (ConnectionError, OSError):
        pass


async def serve(lsock, target):
    async def handle(cr, cw):
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            cw.close()  # nothing listens there (yet): the browser retries
            return
        await asyncio.gather(pump(cr, uw), pump(ur, cw))
        for w in (cw, uw):
            w.close()

    server = await asyncio.start_server(handle, sock=lsock)
    async with server:
        await server.serve_forever()


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: nsfwd.py NETNS_PATH PORT_FILE [TARGET_PORT]")
    ns, port_file = sys.argv[1], sys.argv[2]
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = lsock.getsockname()[1]
    target = int(sys.argv[3]) if len(sys.argv) == 4 else port
    # every socket made from here on (the connections to the target) is in the namespace;
    # the listening socket stays where it was made
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(ns, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        sys.exit("nsfwd: setns %s: %s" % (ns, os.strerror(ctypes.get_errno())))
    os.close(fd)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, port_file)
    asyncio.run(serve(lsock, target))


if __name__ == "__main__":
    main()
