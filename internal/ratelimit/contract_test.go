package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// backend is one implementation of the stores under test, with a way to let time pass.
type backend struct {
	name    string
	store   Store
	blocks  BlockStore
	advance func(time.Duration)

	// unit is the period the window tests use: long on fake clocks, short on a real server
	// where advancing means sleeping.
	unit time.Duration

	// fake reports whether the clock is fake, so that exact durations can be asserted.
	fake bool

	// skip, when set, is why this backend cannot run.
	skip string
}

// backends returns fresh, empty instances of every implementation: in memory and on
// miniredis with fake clocks, and on the real Redis of SKETCHMAKER_TEST_REDIS_URL when set.
func backends(t *testing.T) []backend {
	t.Helper()

	clock := newFakeClock()
	list := []backend{{
		name:    "memory",
		store:   NewMemory(clock.Now),
		blocks:  NewMemoryBlocks(clock.Now),
		advance: clock.Advance,
		unit:    time.Minute,
		fake:    true,
	}}
	list = append(list, miniredisBackend(t))

	return append(list, redisBackend(t))
}

// miniredisBackend runs the Redis stores on an in-process miniredis whose clock, TIME and key
// expiry follow a fake clock.
func miniredisBackend(t *testing.T) backend {
	t.Helper()

	clock := newFakeClock()
	m := miniredis.RunT(t)
	m.SetTime(clock.Now())
	m.ClockTTL(true)

	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { client.Close() })

	prefix := testPrefix(t)
	return backend{
		name:   "miniredis",
		store:  NewRedis(client, prefix),
		blocks: NewRedisBlocks(client, prefix),
		advance: func(d time.Duration) {
			clock.Advance(d)
			m.SetTime(clock.Now())
		},
		unit: time.Minute,
		fake: true,
	}
}

// redisBackend connects to SKETCHMAKER_TEST_REDIS_URL, with a key prefix unique to the test
// whose keys are deleted afterwards.
func redisBackend(t *testing.T) backend {
	t.Helper()

	url := os.Getenv("SKETCHMAKER_TEST_REDIS_URL")
	if url == "" {
		return backend{name: "redis", skip: "SKETCHMAKER_TEST_REDIS_URL is not set; " +
			"set it, e.g. to redis://127.0.0.1:6379/0, to run the real Redis backend"}
	}

	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("SKETCHMAKER_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at SKETCHMAKER_TEST_REDIS_URL does not answer: %v", err)
	}

	prefix := testPrefix(t)
	t.Cleanup(func() {
		deleteKeys(t, client, prefix)
		client.Close()
	})

	return backend{
		name:    "redis",
		store:   NewRedis(client, prefix),
		blocks:  NewRedisBlocks(client, prefix),
		advance: func(d time.Duration) { time.Sleep(d + 50*time.Millisecond) },
		unit:    2 * time.Second,
	}
}

// testPrefix returns a key prefix unique to this run of the test.
func testPrefix(t *testing.T) string {
	var b [6]byte
	rand.Read(b[:])

	name := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
	return "sketchmaker-test:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// deleteKeys removes every key under prefix.
func deleteKeys(t *testing.T, client *redis.Client, prefix string) {
	ctx := context.Background()
	iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		client.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("clean up redis keys under %s: %v", prefix, err)
	}
}

// forEachBackend runs fn as a subtest on every backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			fn(t, b)
		})
	}
}
