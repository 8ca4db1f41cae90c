package atomicfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestWriteCheckedAbortLeavesTargetAndNoTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("changed")
	var sawTemp bool
	err := WriteChecked(path, []byte("new"), 0o600, func() error {
		// The new content is on disk in a temp file of path by now.
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			sawTemp = sawTemp || isTempOf(e.Name(), path)
		}
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the check's error", err)
	}
	if !sawTemp {
		t.Error("check ran before the temp file was written")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("target = %q after an aborted write, want it untouched", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("dir holds %d entries, want only the target (temp removed)", len(ents))
	}
	if err := WriteChecked(path, []byte("new"), 0o600, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("target = %q, want new", b)
	}
}

func TestIsTempOf(t *testing.T) {
	t.Parallel()
	const path = "/d/config.json"
	for name, want := range map[string]bool{
		".config.json.tmp1":          true,
		".config.json.tmp4294967295": true,
		".config.json.tmp":           false,
		".config.json.tmpx.tmp5":     false,
		".config.json.tmp1x":         false,
		"config.json.tmp1":           false,
		".config.json":               false,
		".other.json.tmp1":           false,
	} {
		if got := isTempOf(name, path); got != want {
			t.Errorf("isTempOf(%q) = %v, want %v", name, got, want)
		}
	}
}

// Locks exclude each other within one process too (each has its own
// handle), and a waiter gives up when its context ends.
func TestLockExcludesAndTimesOut(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "f.json")
	var (
		wg            sync.WaitGroup
		mu            sync.Mutex
		inside, most  int
		ctx, cancelFn = context.WithTimeout(context.Background(), time.Minute)
	)
	defer cancelFn()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				l, err := Lock(ctx, path)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				most = max(most, inside)
				mu.Unlock()
				time.Sleep(100 * time.Microsecond)
				mu.Lock()
				inside--
				mu.Unlock()
				l.Unlock()
			}
		}()
	}
	wg.Wait()
	if most != 1 {
		t.Fatalf("%d holders at once, want 1", most)
	}

	l, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Lock(short, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while held: err = %v, want a deadline error", err)
	}
	l.Unlock()
	l.Unlock() // twice is harmless
	l2, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	l2.Unlock()
}
