package main

import (
	"sync"
	"time"
)

// bucket is a throttled link's time, handed out by the byte: take(n)
// reserves the next n bytes' slot (first come, first served, one after
// the other, each n/rate long) and waits until it ends. A link that was
// idle lends at most burst ahead, not a second's worth. bench livenet's
// relay has one per connection, bench fleet's link one for all of them.
type bucket struct {
	burst time.Duration

	mu   sync.Mutex
	rate float64   // bytes per second
	next time.Time // when the link is free
}

// setRate sets the rate in bits per second.
func (b *bucket) setRate(bits float64) {
	b.mu.Lock()
	b.rate = bits / 8
	b.mu.Unlock()
}

// take waits for n bytes' slot on the link.
func (b *bucket) take(n int) {
	b.mu.Lock()
	start := b.next
	if early := time.Now().Add(-b.burst); start.Before(early) {
		start = early
	}
	b.next = start.Add(time.Duration(float64(n) / b.rate * float64(time.Second)))
	end := b.next
	b.mu.Unlock()
	if d := time.Until(end); d > 0 {
		time.Sleep(d)
	}
}
