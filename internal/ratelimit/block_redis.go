package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// violationScript counts a violation and starts a block atomically.
//
// KEYS are the count, the block and the index of blocks (a sorted set scored by the end of each
// block in Unix milliseconds); ARGV the threshold, the window and block length in milliseconds,
// and the member to index. It returns 1 when it started a block.
var violationScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end

local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n < tonumber(ARGV[1]) then return 0 end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ends = string.format('%d', now + tonumber(ARGV[3]))
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ends, 'PX', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[3], ends, ARGV[4])
return 1
`)

// listScript drops ended blocks from the index and returns the rest with their scores.
var listScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
`)

// RedisBlocks is a BlockStore kept in Redis and shared by every instance. All its keys share
// one hash tag so that its scripts also run on Redis Cluster; the prefix should not contain
// braces.
type RedisBlocks struct {
	client redis.UniversalClient
	prefix string
}

var _ BlockStore = (*RedisBlocks)(nil)

// NewRedisBlocks returns a BlockStore that keeps its data under keys starting with prefix.
func NewRedisBlocks(client redis.UniversalClient, prefix string) *RedisBlocks {
	return &RedisBlocks{client: client, prefix: prefix + "{ipblock}:"}
}

// AddViolation counts one violation for key and starts a block at threshold.
func (r *RedisBlocks) AddViolation(
	ctx context.Context,
	key string,
	threshold int,
	window, blockFor time.Duration,
) (bool, error) {
	keys := []string{r.countKey(key), r.blockKey(key), r.indexKey()}
	started, err := violationScript.Run(ctx, r.client, keys,
		threshold, window.Milliseconds(), blockFor.Milliseconds(), key).Int()
	if err != nil {
		return false, fmt.Errorf("redis add violation: %w", err)
	}
	return started == 1, nil
}

// BlockedFor returns how long key stays blocked.
func (r *RedisBlocks) BlockedFor(ctx context.Context, key string) (time.Duration, error) {
	left, err := r.client.PTTL(ctx, r.blockKey(key)).Result()
	if err != nil {
		return 0, fmt.Errorf("redis blocked for: %w", err)
	}

	// PTTL answers a negative value when the key is missing or has no expiry.
	return max(left, 0), nil
}

// Unblock lifts the block on key and clears its count.
func (r *RedisBlocks) Unblock(ctx context.Context, key string) error {
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.countKey(key), r.blockKey(key))
		p.ZRem(ctx, r.indexKey(), key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis unblock: %w", err)
	}
	return nil
}

// List returns the blocks in force.
func (r *RedisBlocks) List(ctx context.Context) ([]Block, error) {
	reply, err := listScript.Run(ctx, r.client, []string{r.indexKey()}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis list blocks: %w", err)
	}
	if len(reply)%2 != 0 {
		return nil, errors.New("redis list blocks: odd reply length")
	}

	list := make([]Block, 0, len(reply)/2)
	for i := 0; i < len(reply); i += 2 {
		ends, err := strconv.ParseFloat(reply[i+1], 64)
		if err != nil {
			return nil, fmt.Errorf("redis list blocks: score of %q: %w", reply[i], err)
		}
		list = append(list, Block{IP: reply[i], Until: time.UnixMilli(int64(ends))})
	}
	return list, nil
}

func (r *RedisBlocks) countKey(key string) string { return r.prefix + "count:" + key }
func (r *RedisBlocks) blockKey(key string) string { return r.prefix + "until:" + key }
func (r *RedisBlocks) indexKey() string           { return r.prefix + "index" }
