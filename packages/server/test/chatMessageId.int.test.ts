/**
 * A chat message's sender-chosen `id` (ChatChannel matches the data-channel copy to the log copy
 * by it): stored with the message, delivered live, replayed in the join catch-up and in history;
 * a malformed id is refused with INVALID_PAYLOAD and the socket stays usable; no id stays no id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatEntry, HistoryResult, JoinResult } from '@parley-rtc/protocol';
import { data, errorCode, nextEvent, request, startServer, type TestServer } from '@parley-rtc/test-support/server';

describe('chat message ids in the room log', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('stores the id with the message, delivers it, and replays it to a late joiner and in history', async () => {
    const alice = await server.connect();
    data(await request<JoinResult>(alice, 'join', { room: 'ids', name: 'Alice' }));
    const live = nextEvent<ChatEntry>(alice, 'chat_message');
    const ack = data(await request<{ seq: number }>(alice, 'chat_message', { text: 'with id', id: 'abcdef0123456789' }));
    assert.equal((await live).id, 'abcdef0123456789');
    data(await request<{ seq: number }>(alice, 'chat_message', { text: 'without id' }));

    const bad = await request(alice, 'chat_message', { text: 'bad id', id: 'no spaces allowed' });
    assert.equal(errorCode(bad), 'INVALID_PAYLOAD');

    const late = await server.connect();
    const joined = data(await request<JoinResult>(late, 'join', { room: 'ids', name: 'Late', lastSeq: 0 }));
    const chats = joined.entries.filter((e): e is ChatEntry => e.kind === 'chat');
    assert.deepEqual(
      chats.map((e) => [e.seq, e.text, e.id]),
      [
        [ack.seq, 'with id', 'abcdef0123456789'],
        [ack.seq + 1, 'without id', undefined],
      ],
    );
    assert.ok(!('id' in chats[1]!), 'a message sent without an id has none');
    const history = data(await request<HistoryResult>(late, 'history', {}));
    const fromHistory = history.entries.filter((e): e is ChatEntry => e.kind === 'chat');
    assert.deepEqual(
      fromHistory.map((e) => e.id),
      ['abcdef0123456789', undefined],
    );
  });
});
