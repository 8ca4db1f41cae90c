package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func TestLockExcludes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "x.lock")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		inside  int
		maxSeen int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				l, err := Acquire(context.Background(), path)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				maxSeen = max(maxSeen, inside)
				mu.Unlock()
				runtime.Gosched()
				mu.Lock()
				inside--
				mu.Unlock()
				l.Unlock()
			}
		}()
	}
	wg.Wait()
	if maxSeen != 1 {
		t.Fatalf("%d holders at once, want 1", maxSeen)
	}
}

func TestAcquireHonoursContext(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := Acquire(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Acquire(ctx, path); err == nil {
		t.Fatal("Acquire succeeded while the lock was held")
	}
	l.Unlock()
	l.Unlock() // twice is harmless
	l2, err := Acquire(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	l2.Unlock()
}

func TestTryAcquireDoesNotWait(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "x.lock")
	l, err := TryAcquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.File().WriteString("holder 1\n"); err != nil {
		t.Fatal(err)
	}
	if l2, err := TryAcquire(path); !errors.Is(err, ErrLocked) {
		l2.Unlock()
		t.Fatalf("TryAcquire while held: err = %v, want ErrLocked", err)
	}
	if runtime.GOOS != "windows" { // LockFileEx keeps others from reading the locked byte
		if b, err := os.ReadFile(path); err != nil || string(b) != "holder 1\n" {
			t.Errorf("lock file while held = %q, %v; want what the holder wrote", b, err)
		}
	}
	l.Unlock()
	l2, err := TryAcquire(path)
	if err != nil {
		t.Fatalf("TryAcquire after Unlock: %v", err)
	}
	l2.Unlock()
}
