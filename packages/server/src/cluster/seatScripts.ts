/**
 * The Redis keys of shared room state and the Lua scripts that change seats atomically (a script
 * runs alone in Redis, so two nodes admitting joiners to one room cannot both take its last seat).
 */

export const keys = {
  /** HASH of room settings: locked ('1'), max (number), pw (salt:hash, hex). */
  settings: (room: string) => `parley:room:${room}`,
  /** HASH member id → seat JSON. */
  members: (room: string) => `parley:members:${room}`,
  /** Pattern matching every room's members hash (resync). */
  membersPattern: 'parley:members:*',
  membersPrefix: 'parley:members:',
  /** STRING: why a session was ended on purpose (expires). */
  ended: (memberId: string) => `parley:ended:${memberId}`,
  /** Pub/sub channel of seat and settings changes. */
  channel: 'parley:membership',
  /** HASH node id → node info JSON. */
  nodes: 'parley:nodes',
  /** STRING with a TTL: the node's heartbeat; gone = the node is dead. */
  alive: (node: string) => `parley:alive:${node}`,
};

/**
 * Admits a new seat. KEYS: settings, members. ARGV: member id, seat JSON, admin ('1'/'0'),
 * server capacity. Refuses a locked room (non-admins) and a full one; detached seats (waiting for
 * a resume) do not count against the joiner: the oldest are released first. Returns
 * {'OK', released ids JSON, seats JSON} or {'LOCKED'} / {'FULL', count}.
 */
export const ADMIT = `
if ARGV[3] ~= '1' and redis.call('HGET', KEYS[1], 'locked') == '1' then return {'LOCKED'} end
local cap = tonumber(ARGV[4])
local max = tonumber(redis.call('HGET', KEYS[1], 'max') or '')
if max and max < cap then cap = max end
local released = {}
while redis.call('HLEN', KEYS[2]) >= cap do
  local oldestId, oldestAt = nil, nil
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    local ok, s = pcall(cjson.decode, all[i + 1])
    if ok and type(s.detachedAt) == 'number' and (oldestAt == nil or s.detachedAt < oldestAt) then
      oldestId, oldestAt = all[i], s.detachedAt
    end
  end
  if not oldestId then break end
  redis.call('HDEL', KEYS[2], oldestId)
  table.insert(released, oldestId)
end
local count = redis.call('HLEN', KEYS[2])
if count >= cap then return {'FULL', tostring(count)} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {'OK', cjson.encode(released), cjson.encode(redis.call('HVALS', KEYS[2]))}
`;

/**
 * Replaces a seat if its epoch is still the expected one. KEYS: members. ARGV: member id, expected
 * epoch, new seat JSON. Returns 1 when written, 0 when the seat is gone or moved on.
 */
export const SWAP = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local ok, s = pcall(cjson.decode, cur)
if not ok or tostring(s.epoch) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/**
 * Removes a seat, only if its epoch is the expected one ('' = whatever it is). KEYS: members.
 * ARGV: member id, expected epoch. Returns 1 when this call removed it.
 */
export const REMOVE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
if ARGV[2] ~= '' then
  local ok, s = pcall(cjson.decode, cur)
  if ok and tostring(s.epoch) ~= ARGV[2] then return 0 end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`;

/** Writes a seat only if none exists for that id (re-asserting local seats after Redis lost them). */
export const RESTORE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;
