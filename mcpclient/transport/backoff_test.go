package transport

import (
	"math"
	"testing"
	"time"
)

func TestBackoffDelayExponentialAndCapped(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Cap: time.Second}
	tests := []struct {
		n    int
		want time.Duration
	}{
		{-3, 100 * time.Millisecond},
		{0, 100 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{6, time.Second},
		{64, time.Second},
		{1 << 20, time.Second},
		{math.MaxInt, time.Second},
	}
	for _, tt := range tests {
		if got := b.Delay(tt.n); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestBackoffDelayMonotonic(t *testing.T) {
	for _, b := range []Backoff{
		{Base: time.Nanosecond, Cap: time.Hour},
		{Base: 500 * time.Millisecond, Cap: 30 * time.Second},
		{Base: 3 * time.Millisecond, Cap: 7 * time.Millisecond},
		{Base: time.Second, Cap: 100 * 365 * 24 * time.Hour},
	} {
		prev := time.Duration(0)
		for n := 1; n <= 200; n++ {
			d := b.Delay(n)
			if d < prev {
				t.Fatalf("%+v: Delay(%d) = %v < Delay(%d) = %v", b, n, d, n-1, prev)
			}
			if d <= 0 || d > b.Cap {
				t.Fatalf("%+v: Delay(%d) = %v outside (0, cap]", b, n, d)
			}
			prev = d
		}
		if got := b.Delay(200); got != b.Cap {
			t.Errorf("%+v: Delay(200) = %v, want the cap", b, got)
		}
	}
}

func TestBackoffDelayDefaults(t *testing.T) {
	var b Backoff
	if got := b.Delay(1); got != 500*time.Millisecond {
		t.Errorf("zero Backoff Delay(1) = %v, want 500ms", got)
	}
	if got := b.Delay(2); got != time.Second {
		t.Errorf("zero Backoff Delay(2) = %v, want 1s", got)
	}
	if got := b.Delay(100); got != 30*time.Second {
		t.Errorf("zero Backoff Delay(100) = %v, want 30s", got)
	}
	neg := Backoff{Base: -time.Second, Cap: -time.Second, Jitter: -0.5}
	if got := neg.Delay(1); got != 500*time.Millisecond {
		t.Errorf("negative Backoff Delay(1) = %v, want the 500ms default without jitter", got)
	}
}

func TestBackoffDelayBaseAboveCap(t *testing.T) {
	b := Backoff{Base: time.Minute, Cap: time.Second}
	for _, n := range []int{1, 2, 10} {
		if got := b.Delay(n); got != time.Second {
			t.Errorf("Delay(%d) = %v, want the 1s cap", n, got)
		}
	}
}

// jitterStats draws samples of b.Delay(n) and reports min, max, mean and
// the fraction below nominal.
func jitterStats(b Backoff, n, samples int, nominal time.Duration) (lo, hi time.Duration, mean, below float64) {
	lo, hi = time.Duration(math.MaxInt64), 0
	var sum float64
	var nBelow int
	for range samples {
		d := b.Delay(n)
		lo, hi = min(lo, d), max(hi, d)
		sum += float64(d)
		if d < nominal {
			nBelow++
		}
	}
	return lo, hi, sum / float64(samples), float64(nBelow) / float64(samples)
}

func TestBackoffJitterBounds(t *testing.T) {
	const samples = 20000
	tests := []struct {
		name    string
		b       Backoff
		n       int
		nominal time.Duration
	}{
		{"20% below the cap", Backoff{Base: 100 * time.Millisecond, Cap: 10 * time.Second, Jitter: 0.2}, 3, 400 * time.Millisecond},
		{"20% below the cap", Backoff{Base: 100 * time.Millisecond, Cap: 10 * time.Second, Jitter: 0.2}, 4, 800 * time.Millisecond},
		{"50% first attempt", Backoff{Base: 2 * time.Second, Cap: time.Minute, Jitter: 0.5}, 1, 2 * time.Second},
		{"full jitter", Backoff{Base: time.Second, Cap: time.Minute, Jitter: 1}, 2, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.b.Jitter
			lo, hi, mean, below := jitterStats(tt.b, tt.n, samples, tt.nominal)
			// Hard bounds: every sample within nominal × [1-j, 1+j].
			minOK := time.Duration(float64(tt.nominal) * (1 - j))
			maxOK := time.Duration(float64(tt.nominal) * (1 + j))
			if lo < minOK || hi > maxOK {
				t.Errorf("samples in [%v, %v], want within [%v, %v]", lo, hi, minOK, maxOK)
			}
			// The jitter is actually used: samples reach into the outer
			// tenths of the range on both sides (each side misses with
			// probability 0.9^20000).
			spread := float64(tt.nominal) * j
			if float64(lo) > float64(tt.nominal)-0.8*spread || float64(hi) < float64(tt.nominal)+0.8*spread {
				t.Errorf("samples in [%v, %v] do not cover the ±%.0f%% range around %v", lo, hi, j*100, tt.nominal)
			}
			// Uniform and centred: the mean is within 3% of the half-range
			// of nominal (about 7 standard errors), and about half the
			// samples are below it (0.5 ± 0.05 is about 14 standard errors).
			if math.Abs(mean-float64(tt.nominal)) > 0.03*spread {
				t.Errorf("mean %v, want about %v", time.Duration(mean), tt.nominal)
			}
			if below < 0.45 || below > 0.55 {
				t.Errorf("%.3f of samples below nominal, want about 0.5", below)
			}
		})
	}
}

func TestBackoffJitterNeverNegative(t *testing.T) {
	for _, b := range []Backoff{
		{Base: time.Millisecond, Cap: time.Second, Jitter: 0.2},
		{Base: time.Millisecond, Cap: time.Second, Jitter: 0.999},
		{Base: 1, Cap: 2, Jitter: 0.5},
	} {
		for n := 1; n < 30; n++ {
			for range 200 {
				if d := b.Delay(n); d < 0 {
					t.Fatalf("%+v: Delay(%d) = %v < 0", b, n, d)
				}
			}
		}
	}
}

// TestBackoffNeverExceedsCap: at the cap, jitter only shortens the wait.
func TestBackoffNeverExceedsCap(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Cap: time.Second, Jitter: 0.2}
	for i := 0; i < 5000; i++ {
		d := b.Delay(20)
		if d > time.Second || d < 800*time.Millisecond {
			t.Fatalf("Delay(20) = %v, want within [800ms, 1s]", d)
		}
	}
	if d := (Backoff{Base: time.Millisecond, Cap: time.Second, Jitter: 5}).Delay(1); d <= 0 {
		t.Fatalf("an oversized jitter gave %v", d)
	}
}
