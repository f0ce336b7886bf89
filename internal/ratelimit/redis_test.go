package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// TestRedisKeysExpire checks that counters carry a TTL, so Redis memory stays bounded too.
func TestRedisKeysExpire(t *testing.T) {
	clock := newFakeClock()
	m := miniredis.RunT(t)
	m.SetTime(clock.Now())
	m.ClockTTL(true)
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer client.Close()

	ctx := context.Background()
	s := NewRedis(client, "t:")
	if _, err := s.Hit(ctx, "k", Rate{4, time.Minute}); err != nil {
		t.Fatal(err)
	}
	if ttl := m.TTL("t:rate:k"); ttl != 15*time.Second {
		t.Errorf("counter TTL = %s, want 15s", ttl)
	}

	blocks := NewRedisBlocks(client, "t:")
	if _, err := blocks.AddViolation(ctx, "192.0.2.1", 2, time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := m.TTL("t:{ipblock}:count:192.0.2.1"); ttl != time.Minute {
		t.Errorf("violation count TTL = %s, want 1m", ttl)
	}

	clock.Advance(time.Minute)
	m.SetTime(clock.Now())
	if keys := m.Keys(); len(keys) != 0 {
		t.Errorf("keys left after every TTL passed: %v", keys)
	}
}

// TestRedisErrorsReachCaller checks that a Redis failure is returned, not taken as a pass or a
// refusal, so the caller can choose how to fail.
func TestRedisErrorsReachCaller(t *testing.T) {
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer client.Close()

	store := NewRedis(client, "t:")
	blocker, err := NewBlocker(NewRedisBlocks(client, "t:"), 3, time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	m.SetError("LOADING Redis is loading the dataset in memory")
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["Hit"] = store.Hit(ctx, "k", Rate{1, time.Minute})
	checks["Reset"] = store.Reset(ctx, "k")
	_, checks["Violation"] = blocker.Violation(ctx, "192.0.2.1")
	_, _, checks["Blocked"] = blocker.Blocked(ctx, "192.0.2.1")
	checks["Unblock"] = blocker.Unblock(ctx, "192.0.2.1")
	_, checks["List"] = blocker.List(ctx)

	for name, err := range checks {
		var redisErr redis.Error
		if !errors.As(err, &redisErr) {
			t.Errorf("%s error = %v, want the Redis error wrapped", name, err)
		}
	}
}
