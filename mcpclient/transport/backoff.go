package transport

import (
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff with jitter.
type Backoff struct {
	Base, Cap time.Duration
	// Jitter is the +/- fraction applied to each delay (0.2 = ±20%).
	Jitter float64
}

// Delay returns the wait before attempt n (1-based).
func (b Backoff) Delay(n int) time.Duration {
	base, capd := b.Base, b.Cap
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if capd <= 0 {
		capd = 30 * time.Second
	}
	d := base
	for i := 1; i < n && d < capd; i++ {
		d *= 2
	}
	d = min(d, capd)
	if j := min(b.Jitter, 1); j > 0 {
		f := 1 + j*(2*rand.Float64()-1)
		d = time.Duration(float64(d) * f)
	}
	return max(min(d, capd), time.Millisecond)
}
