// A minimal Parley call: join a room, show your camera and everyone else's, chat.
// Open the page as ?room=demo&name=Ada. Add &token=… when the server requires access tokens
// (your backend mints them), and &server=https://parley.example.com when the page is not served
// by the Parley server itself.
import { ClientError, LocalMedia, ParleyError, Room } from '@parley-rtc/client';

const params = new URLSearchParams(location.search);
const server = params.get('server') ?? location.origin;
const roomName = params.get('room') ?? 'demo';
const name = params.get('name') ?? 'guest';
const token = params.get('token') ?? undefined;

const $ = (id) => document.getElementById(id);
const form = document.querySelector('form');
const media = new LocalMedia();
const room = new Room({ media }); // publishes whatever `media` captures
const playing = new Map(); // remote track → the element playing it

room.on('connectionState', (state, reason) => {
  $('status').textContent = reason ? `${state} (${reason})` : state;
});
room.on('peerJoined', (peer) => say(`${peer.name} joined`));
room.on('peerLeft', (peer) => say(`${peer.name} left`));
room.on('chat', (entry) => say(`${entry.from.name}: ${entry.text}`));
room.on('track', ({ track }) => {
  const el = play(track);
  playing.set(track, el);
  $('remote').append(el);
});
room.on('trackRemoved', ({ track }) => {
  playing.get(track)?.remove();
  playing.delete(track);
});
room.on('sessionEnded', (reason, message) => say(`the server ended the call: ${message}`));
room.on('error', (err) => console.warn('parley:', err));

$('join').onclick = async () => {
  $('join').hidden = true;
  // Never throws: a denied camera or microphone shows in media.state (and an `error` event).
  await media.start({ audio: true, video: true });
  const camera = media.track('video');
  if (camera) $('local').append(play(camera));
  try {
    await room.connect(server, { room: roomName, name, token });
    $('leave').hidden = false;
  } catch (err) {
    $('status').textContent = `could not join: ${describe(err)}`;
    media.close();
  }
};

$('leave').onclick = async () => {
  await room.leave();
  room.close();
  media.close();
  $('leave').hidden = true;
  $('local').replaceChildren();
  $('remote').replaceChildren();
};

form.onsubmit = async (event) => {
  event.preventDefault();
  const text = String(new FormData(form).get('text') ?? '').trim();
  if (!text) return;
  form.reset();
  try {
    await room.sendChat(text); // our own message comes back through the `chat` event
  } catch (err) {
    say(`not sent: ${describe(err)}`);
  }
};

/** A <video> (muted: sound has its own <audio>) or an <audio> element playing one track. */
function play(track) {
  const el = document.createElement(track.kind === 'video' ? 'video' : 'audio');
  el.srcObject = new MediaStream([track]);
  el.autoplay = true;
  el.muted = track.kind === 'video';
  el.setAttribute('playsinline', '');
  return el;
}

function say(text) {
  const li = document.createElement('li');
  li.textContent = text;
  $('messages').append(li);
}

/** What went wrong, for people: the server's error code, or the SDK's own reason. */
function describe(err) {
  if (err instanceof ParleyError) return `${err.code}: ${err.message}`; // UNAUTHORIZED, ROOM_FULL, …
  if (err instanceof ClientError) return `${err.reason}: ${err.message}`; // timeout, disconnected, …
  return String(err);
}
