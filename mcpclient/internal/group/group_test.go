package group

import (
	"sync/atomic"
	"testing"
)

func TestWaitWaitsAndThenRefuses(t *testing.T) {
	var g Group
	var ran atomic.Int32
	release := make(chan struct{})
	for range 3 {
		if !g.Go(func() { <-release; ran.Add(1) }) {
			t.Fatal("Go refused before Wait")
		}
	}
	done := make(chan struct{})
	go func() { g.Wait(); close(done) }()
	select {
	case <-done:
		t.Fatal("Wait returned with goroutines running")
	default:
	}
	close(release)
	<-done
	if ran.Load() != 3 {
		t.Fatalf("ran %d, want 3", ran.Load())
	}
	if g.Go(func() { t.Error("ran after Wait") }) {
		t.Fatal("Go accepted after Wait")
	}
	g.Wait() // again: returns at once
}
