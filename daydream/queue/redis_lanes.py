"""The fair lanes of ``local.py``, kept in Redis and changed only by Lua scripts.

Every web process pushes and every worker pops through the same scripts, so the choice of
the next task is one atomic step on the Redis server: two web processes submitting and two
workers taking still give A1 A2 B1 C1 C2 A3 → A1 B1 C1 A2 C2 A3. Each waiting task's model
is kept beside it, so a worker's pop can apply model affinity exactly as ``local._take`` does.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Collection

import redis

from daydream.queue import QueueFull
from daydream.queue.local import _Lane, _take

# KEYS[1] is the key prefix. Lanes: set "lanes" of users with waiting tasks, list "lane:<user>",
# hashes "turns", "arrival", "served" (per user), "owner" and "model" (task → user, model),
# counter "clock".
_PUSH = """
local P, task, user, maxsize, model = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
if redis.call('HEXISTS', P..'owner', task) == 1 then return 1 end
if maxsize > 0 and redis.call('HLEN', P..'owner') >= maxsize then return 0 end
if redis.call('SISMEMBER', P..'lanes', user) == 0 then
  local round = nil
  for _, u in ipairs(redis.call('SMEMBERS', P..'lanes')) do
    local t = tonumber(redis.call('HGET', P..'turns', u))
    if round == nil or t < round then round = t end
  end
  redis.call('SADD', P..'lanes', user)
  redis.call('HSET', P..'turns', user, round or 0)
  redis.call('HSET', P..'arrival', user, redis.call('INCR', P..'clock'))
end
redis.call('RPUSH', P..'lane:'..user, task)
redis.call('HSET', P..'owner', task, user)
if model and model ~= '' then redis.call('HSET', P..'model', task, model) end
return 1
"""

_DROP_LANE_IF_EMPTY = """
local function drop_if_empty(P, user)
  if redis.call('LLEN', P..'lane:'..user) == 0 then
    redis.call('SREM', P..'lanes', user)
    redis.call('HDEL', P..'turns', user)
    redis.call('HDEL', P..'arrival', user)
  end
end
"""

# ARGV: the number of models the worker holds (-1: no affinity), those models, the number of
# models other live workers hold, those models. Mirrors ``local._candidate`` and ``_take``.
_POP = _DROP_LANE_IF_EMPTY + """
local P = KEYS[1]
local nheld = tonumber(ARGV[1])
local held, elsewhere, i = {}, {}, 2
for _ = 1, math.max(nheld, 0) do held[ARGV[i]] = true; i = i + 1 end
local nelse = tonumber(ARGV[i] or '0'); i = i + 1
for _ = 1, nelse do elsewhere[ARGV[i]] = true; i = i + 1 end
local best
for _, u in ipairs(redis.call('SMEMBERS', P..'lanes')) do
  local pick, mine
  if nheld < 0 then
    pick, mine = redis.call('LINDEX', P..'lane:'..u, 0), true
  else
    for _, t in ipairs(redis.call('LRANGE', P..'lane:'..u, 0, -1)) do
      local m = redis.call('HGET', P..'model', t)
      if not m or m == '' or held[m] then pick, mine = t, true; break end
      if not elsewhere[m] then pick, mine = t, false; break end
    end
  end
  if pick then
    local c = {u = u, task = pick, mine = mine,
               t = tonumber(redis.call('HGET', P..'turns', u)),
               s = tonumber(redis.call('HGET', P..'served', u) or '0'),
               a = tonumber(redis.call('HGET', P..'arrival', u))}
    if best == nil or c.t < best.t or (c.t == best.t and (
        (c.mine and not best.mine) or (c.mine == best.mine and (
          c.s < best.s or (c.s == best.s and c.a < best.a))))) then
      best = c
    end
  end
end
if best == nil then return false end
redis.call('LREM', P..'lane:'..best.u, 1, best.task)
redis.call('HDEL', P..'owner', best.task)
redis.call('HDEL', P..'model', best.task)
redis.call('HSET', P..'turns', best.u, best.t + 1)
redis.call('HSET', P..'served', best.u, redis.call('INCR', P..'clock'))
drop_if_empty(P, best.u)
return best.task
"""

_REMOVE = _DROP_LANE_IF_EMPTY + """
local P, task = KEYS[1], ARGV[1]
local user = redis.call('HGET', P..'owner', task)
if not user then return 0 end
redis.call('HDEL', P..'owner', task)
redis.call('HDEL', P..'model', task)
redis.call('LREM', P..'lane:'..user, 0, task)
drop_if_empty(P, user)
return 1
"""

_SNAPSHOT = """
local P = KEYS[1]
local lanes = {}
for _, u in ipairs(redis.call('SMEMBERS', P..'lanes')) do
  lanes[u] = {ids = redis.call('LRANGE', P..'lane:'..u, 0, -1),
              turns = tonumber(redis.call('HGET', P..'turns', u)),
              arrival = tonumber(redis.call('HGET', P..'arrival', u))}
end
local served = {}
local flat = redis.call('HGETALL', P..'served')
for i = 1, #flat, 2 do served[flat[i]] = tonumber(flat[i + 1]) end
return cjson.encode({lanes = lanes, served = served,
                     clock = tonumber(redis.call('GET', P..'clock') or '0')})
"""


class RedisLanes:
    """Fair, bounded lanes of task ids in Redis (the waiting room of the RQ backend)."""

    def __init__(self, client: redis.Redis, maxsize: int = 0, prefix: str = "daydream:q:"):
        self.redis = client
        self.maxsize = maxsize
        self.prefix = prefix
        self._push = client.register_script(_PUSH)
        self._pop = client.register_script(_POP)
        self._remove = client.register_script(_REMOVE)
        self._snapshot = client.register_script(_SNAPSHOT)

    def push(self, task_id: int, user_id: int, model: str | None = None) -> None:
        """Join the user's lane (a new lane starts at the current round); idempotent."""
        if not self._push(keys=[self.prefix],
                          args=[task_id, user_id, self.maxsize, model or ""]):
            raise QueueFull(f"The queue is full ({self.maxsize} tasks waiting).")

    def pop(self, held: Collection[str] | None = None,
            elsewhere: Collection[str] = ()) -> int | None:
        """Take the next id in fair order (with model affinity when ``held`` is given: see
        ``local._take``), or None when nothing waits that this worker should run."""
        args: list[object] = [-1] if held is None else [len(held), *sorted(held)]
        args += [len(elsewhere), *sorted(elsewhere)]
        task_id = self._pop(keys=[self.prefix], args=args)
        return int(task_id) if task_id is not None else None

    def remove(self, task_id: int) -> bool:
        """Drop a waiting id; False if it was not waiting."""
        return bool(self._remove(keys=[self.prefix], args=[task_id]))

    def model_of(self, task_id: int) -> str | None:
        """The model a waiting task asks for (None: any, or not waiting)."""
        model = self.redis.hget(self.prefix + "model", task_id)
        return model.decode() if isinstance(model, bytes) else model

    def contains(self, task_id: int) -> bool:
        """Whether the id waits in a lane."""
        return bool(self.redis.hexists(self.prefix + "owner", task_id))

    def order(self) -> list[int]:
        """Waiting ids in the order they will be taken: the pop script's choice, dry-run."""
        state = json.loads(self._snapshot(keys=[self.prefix]))
        raw_lanes = state["lanes"] or {}  # cjson encodes an empty table as {}
        lanes = {int(user): _Lane(deque(int(i) for i in lane.get("ids") or []),
                                  int(lane["turns"]), int(lane["arrival"]))
                 for user, lane in raw_lanes.items()}
        served = {int(user): int(clock) for user, clock in (state["served"] or {}).items()}
        clock = int(state["clock"])
        order: list[int] = []
        while lanes:
            clock += 1
            order.append(_take(lanes, served, clock))
        return order

    def __len__(self) -> int:
        return int(self.redis.hlen(self.prefix + "owner"))
