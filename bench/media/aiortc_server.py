#!/usr/bin/python3
"""Anchor for bench/media.ts: a minimal aiortc server in the style of aiortc's examples/server.

POST /offer {sdp, type} -> {sdp, type}; sends a media file (decoded once by MediaPlayer, shared via
MediaRelay, re-encoded per viewer as aiortc does) and answers data channels (ping -> pong).
Usage: /usr/bin/python3 aiortc_server.py FILE PORT
"""
import asyncio, json, sys

import aioice.ice
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer, MediaRelay

# aioice never offers loopback addresses; this machine benchmarks over loopback only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

FILE, PORT = sys.argv[1], int(sys.argv[2])
pcs = set()
relay = MediaRelay()
player = None


async def offer(request):
    global player
    params = await request.json()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pcs.add(pc)

    @pc.on("datachannel")
    def on_datachannel(channel):
        @channel.on("message")
        def on_message(message):
            if isinstance(message, str) and message.startswith("ping"):
                channel.send("pong" + message[4:])
            else:
                channel.send(message)

    @pc.on("connectionstatechange")
    async def on_state():
        if pc.connectionState in ("failed", "closed"):
            await pc.close()
            pcs.discard(pc)

    if player is None:
        player = MediaPlayer(FILE, loop=True)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=params["sdp"], type=params["type"]))
    for t in pc.getTransceivers():
        if t.kind == "video" and player.video:
            pc.addTrack(relay.subscribe(player.video))
        elif t.kind == "audio" and player.audio:
            pc.addTrack(relay.subscribe(player.audio))
    await pc.setLocalDescription(await pc.createAnswer())
    return web.json_response({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})


async def on_shutdown(app):
    await asyncio.gather(*[pc.close() for pc in pcs])


app = web.Application()
app.on_shutdown.append(on_shutdown)
app.router.add_post("/offer", offer)
app.router.add_get("/healthz", lambda r: web.json_response({"ok": True}))
web.run_app(app, host="127.0.0.1", port=PORT, print=lambda *a: print("listening", flush=True))
