# Anchor: the design Parley grew from — a Flask-SocketIO server — relaying each signaling
# message to its target socket, with the same join/ack contract as the other servers in this
# benchmark so one load generator drives all of them. Run with Debian's python3-flask-socketio
# (eventlet async mode): /usr/bin/python3 flask_relay.py PORT
import sys
from flask import Flask, request
from flask_socketio import SocketIO, join_room

app = Flask(__name__)
socketio = SocketIO(app, cors_allowed_origins="*")


@socketio.on("join")
def on_join(req):
    join_room(req["room"])
    return {"ok": True, "data": {"self": {"id": request.sid}}}


def relay(event):
    def handler(msg):
        data = dict(msg)
        to = data.pop("to")
        data["from"] = request.sid
        socketio.emit(event, data, to=to)
        return {"ok": True, "data": None}
    return handler


for name in ("offer", "answer", "candidate"):
    socketio.on_event(name, relay(name))

port = int(sys.argv[1])
print("READY %d" % port, flush=True)
socketio.run(app, host="127.0.0.1", port=port, log_output=False)
