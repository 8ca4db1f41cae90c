package mcpclient

import (
	"context"
	"sync"
)

// lineQueue holds the lines waiting for one IDE, bounded by count and by
// bytes: an IDE that does not read its output slows down (its writers
// wait) instead of growing the hub's memory. A single line larger than the
// byte budget still goes through, alone.
type lineQueue struct {
	maxLines int
	maxBytes int

	mu    sync.Mutex
	lines [][]byte
	bytes int
	ready chan struct{} // holds a token while lines are waiting
	space chan struct{} // closed (and replaced) whenever lines are taken
}

func newLineQueue(maxLines, maxBytes int) *lineQueue {
	return &lineQueue{maxLines: maxLines, maxBytes: maxBytes, ready: make(chan struct{}, 1), space: make(chan struct{})}
}

// push queues line. With wait it waits for room until ctx ends (false);
// without, it returns false at once when the queue is full.
func (q *lineQueue) push(ctx context.Context, line []byte, wait bool) bool {
	for {
		q.mu.Lock()
		if len(q.lines) == 0 || (len(q.lines) < q.maxLines && q.bytes+len(line) <= q.maxBytes) {
			q.lines = append(q.lines, line)
			q.bytes += len(line)
			q.mu.Unlock()
			select {
			case q.ready <- struct{}{}:
			default:
			}
			return true
		}
		space := q.space
		q.mu.Unlock()
		if !wait {
			return false
		}
		select {
		case <-space:
		case <-ctx.Done():
			return false
		}
	}
}

// take returns every waiting line (nil when none) and wakes the writers
// that wait for room.
func (q *lineQueue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.lines) == 0 {
		return nil
	}
	lines := q.lines
	q.lines, q.bytes = nil, 0
	close(q.space)
	q.space = make(chan struct{})
	return lines
}

// queued reports the lines and bytes waiting.
func (q *lineQueue) queued() (int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.lines), q.bytes
}
