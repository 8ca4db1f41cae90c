package bench

import (
	"context"
	"testing"
	"time"
)

func BenchmarkZZProxyCost(b *testing.B) {
	env := shared.get(b)
	ctx := context.Background()
	viaProxy, err := newDirect(ctx, env.proxy.URL())
	if err != nil {
		b.Fatal(err)
	}
	noProxy, err := newDirect(ctx, env.ev.URL())
	if err != nil {
		b.Fatal(err)
	}
	var a, c []time.Duration
	b.ResetTimer()
	for range b.N {
		t := time.Now()
		if err := viaProxy.callEcho(ctx); err != nil {
			b.Fatal(err)
		}
		a = append(a, time.Since(t))
		t = time.Now()
		if err := noProxy.callEcho(ctx); err != nil {
			b.Fatal(err)
		}
		c = append(c, time.Since(t))
	}
	b.ReportMetric(us(percentile(a, 50)), "proxy-p50-µs")
	b.ReportMetric(us(percentile(c, 50)), "noproxy-p50-µs")
}
