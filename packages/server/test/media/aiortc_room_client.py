#!/usr/bin/python3
"""
An aiortc WHIP publisher or WHEP viewer for Parley's room tests (media/roomMedia.int.test.ts).

  aiortc_room_client.py whip URL [--token T] [--no-candidates] [--trickle] [--luma Y] [--amplitude A] [--tone HZ] [--codec vp8|h264]
  aiortc_room_client.py whep URL [--token T] [--json] [--trickle]

Prints one JSON object per line on stdout: {"event": "answered", ...} after the POST, then
{"event": "stats", ...} twice a second. Runs until stdin closes (then DELETEs its resource) or the
peer connection fails. The publisher sends aiortc-encoded VP8 or H.264 (a flat picture of luma Y with a
moving bar, so a viewer can tell publishers apart) and Opus (a tone, 440 Hz unless --tone, of the given amplitude, 0 for silence).
--no-candidates strips the candidates from the offer and never PATCHes (what OBS does);
--trickle strips them too, then sends them with PATCH (application/trickle-ice-sdpfrag).
"""
import argparse
import asyncio
import fractions
import json
import math
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import aioice.ice
import numpy
from av import AudioFrame, VideoFrame
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

# aioice never offers loopback addresses; the tests run on 127.0.0.1 only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class PatternVideo(MediaStreamTrack):
    kind = "video"

    def __init__(self, luma):
        super().__init__()
        self.luma = luma
        self.count = 0
        self.start = None

    async def recv(self):
        rate = 15
        if self.start is None:
            self.start = time.time()
        else:
            wait = self.start + self.count / rate - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        y = numpy.full((240, 320), self.luma, numpy.uint8)
        x = 64 + (self.count * 8) % 240  # the bar never reaches the left edge, where viewers read the luma
        y[:, x : x + 16] = 255 - self.luma
        uv = numpy.full((120, 160), 128, numpy.uint8)
        frame = VideoFrame.from_ndarray(numpy.concatenate([y, uv.reshape(60, 320), uv.reshape(60, 320)]), format="yuv420p")
        frame.pts = self.count * (90000 // rate)
        frame.time_base = fractions.Fraction(1, 90000)
        self.count += 1
        return frame


class ToneAudio(MediaStreamTrack):
    kind = "audio"

    def __init__(self, amplitude, tone):
        super().__init__()
        self.amplitude = amplitude
        self.tone = tone
        self.samples = 0
        self.start = None

    async def recv(self):
        n = 960
        if self.start is None:
            self.start = time.time()
        else:
            wait = self.start + self.samples / 48000 - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (numpy.arange(n) + self.samples) / 48000
        pcm = (self.amplitude * numpy.sin(2 * math.pi * self.tone * t)).astype(numpy.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.samples
        frame.time_base = fractions.Fraction(1, 48000)
        self.samples += n
        return frame


def codec_of(pc, track):
    """The negotiated codec of a received track (from the remote answer's first payload type)."""
    for t in pc.getTransceivers():
        if t.receiver.track is track and t._codecs:
            return t._codecs[0].mimeType.split("/")[1].lower()
    return None


def strip_candidates(sdp):
    lines = [l for l in sdp.split("\r\n") if not l.startswith("a=candidate:") and l != "a=end-of-candidates"]
    return "\r\n".join(lines)


def candidate_fragment(sdp):
    """The offer's ICE credentials and candidates as an RFC 8840 SDP fragment."""
    out, mid = [], None
    for line in sdp.split("\r\n"):
        if line.startswith(("a=ice-ufrag:", "a=ice-pwd:")) and not any(l.startswith(line.split(":")[0]) for l in out):
            out.append(line)
        elif line.startswith("a=mid:"):
            mid = line
        elif line.startswith("a=candidate:") and mid is not None:
            if mid not in out:
                out.append(mid)
            out.append(line)
    return "\r\n".join(out) + "\r\n"


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as res:
            return res.status, dict(res.headers), res.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["whip", "whep"])
    ap.add_argument("url")
    ap.add_argument("--token")
    ap.add_argument("--no-candidates", action="store_true")
    ap.add_argument("--trickle", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--luma", type=int, default=200)
    ap.add_argument("--amplitude", type=int, default=20000)
    ap.add_argument("--tone", type=float, default=440)
    ap.add_argument("--codec", choices=["vp8", "h264"], default="vp8")
    args = ap.parse_args()

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    counts = {"video": 0, "audio": 0, "width": 0, "height": 0, "luma": -1, "codec": None}
    if args.mode == "whip":
        video = pc.addTransceiver(PatternVideo(args.luma), direction="sendonly")
        wanted = "video/H264" if args.codec == "h264" else "video/VP8"
        video.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType in (wanted, "video/rtx")])
        pc.addTransceiver(ToneAudio(args.amplitude, args.tone), direction="sendonly")
    else:
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")

        @pc.on("track")
        def on_track(track):
            async def consume():
                while True:
                    try:
                        frame = await track.recv()
                    except Exception:
                        return
                    counts[track.kind] += 1
                    if track.kind == "video":
                        counts["width"], counts["height"] = frame.width, frame.height
                        counts["codec"] = codec_of(pc, track)
                        counts["luma"] = int(frame.to_ndarray(format="gray")[:, :8].mean())

            asyncio.ensure_future(consume())

    await pc.setLocalDescription(await pc.createOffer())
    full = pc.localDescription.sdp
    offer = strip_candidates(full) if (args.no_candidates or args.trickle) else full
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    loop = asyncio.get_running_loop()
    if args.json:
        status, h, body = await loop.run_in_executor(
            None, lambda: http("POST", args.url, json.dumps({"type": "offer", "sdp": offer}), {**headers, "Content-Type": "application/json"})
        )
        answer = json.loads(body).get("sdp") if status == 200 else None
    else:
        status, h, body = await loop.run_in_executor(None, lambda: http("POST", args.url, offer, {**headers, "Content-Type": "application/sdp"}))
        answer = body if status == 201 else None
    h = {k.lower(): v for k, v in h.items()}
    location = urllib.parse.urljoin(args.url, h["location"]) if "location" in h else None
    emit("answered", status=status, location=location, etag=h.get("etag"), contentType=h.get("content-type"), body=None if answer else body)
    if answer is None:
        return
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    if args.trickle and location:
        frag = candidate_fragment(full)
        status, _, _ = await loop.run_in_executor(
            None, lambda: http("PATCH", location, frag, {**headers, "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": h.get("etag", "*")})
        )
        emit("patched", status=status)

    stdin_closed = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: stdin_closed.done() or (sys.stdin.readline() == "" and stdin_closed.set_result(None)))
    while not stdin_closed.done():
        emit("stats", state=pc.connectionState, **counts)
        if pc.connectionState in ("failed", "closed"):
            break
        await asyncio.wait([stdin_closed], timeout=0.5)
    if location:
        await loop.run_in_executor(None, lambda: http("DELETE", location, None, headers))
    await pc.close()



asyncio.run(main())
