package ratelimit

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// hitScript is gcra in Lua, so that reading and writing a key is one atomic step in Redis. It
// uses the server's clock, so instances whose clocks disagree still share one limit. Times are
// microseconds, which a Lua number holds exactly.
//
// KEYS[1] is the counter; ARGV[1] the limit and ARGV[2] the interval in microseconds. It
// returns {allowed, remaining, reset_after_us, retry_after_us}.
var hitScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = limit * interval

local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end

local new_tat = tat + interval
if new_tat - now > burst then
  return {0, 0, tat - now, new_tat - burst - now}
end

redis.call('SET', KEYS[1], string.format("%d", new_tat), "PX", math.ceil((new_tat - now) / 1000))
return {1, math.floor((burst - (new_tat - now)) / interval), new_tat - now, 0}
`)

// Redis is a Store that keeps counters in Redis, shared by every instance that uses the same
// server and prefix. When Redis fails, Hit returns the error and the caller decides whether to
// let the request through.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store that keeps its counters under keys starting with prefix.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Hit records one request for key under rate.
func (r *Redis) Hit(ctx context.Context, key string, rate Rate) (Result, error) {
	if err := rate.Validate(); err != nil {
		return Result{}, fmt.Errorf("hit %s: %w", rate, err)
	}

	keys := []string{r.key(key)}
	reply, err := hitScript.Run(ctx, r.client, keys, rate.Limit,
		rate.interval().Microseconds()).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("redis rate limit hit: %w", err)
	}
	if len(reply) != 4 {
		return Result{}, fmt.Errorf("redis rate limit hit: unexpected reply %v", reply)
	}

	return Result{
		Allowed:    reply[0] == 1,
		Limit:      rate.Limit,
		Remaining:  int(reply[1]),
		ResetAfter: micros(reply[2]),
		RetryAfter: micros(reply[3]),
	}, nil
}

// Reset forgets key.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.key(key)).Err(); err != nil {
		return fmt.Errorf("redis rate limit reset: %w", err)
	}
	return nil
}

// key returns the Redis key of a counter.
func (r *Redis) key(key string) string {
	return r.prefix + "rate:" + key
}
