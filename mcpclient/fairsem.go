package mcpclient

import (
	"context"
	"sync"
)

// fairSem bounds the requests in flight to one server. Waiters queue per
// owner (an IDE's session; nil for the hub's own calls) and a freed slot
// goes to the owners in turn, so one IDE's burst of thousands of requests
// delays the next IDE's call by at most one round, not by the burst.
type fairSem struct {
	mu     sync.Mutex
	max    int
	used   int
	queues map[any][]chan struct{}
	order  []any // owners with waiters, in turn order
}

func newFairSem(max int) *fairSem {
	if max < 1 {
		max = 1
	}
	return &fairSem{max: max, queues: map[any][]chan struct{}{}}
}

// setMax changes the bound; waiters are let in as room appears.
func (s *fairSem) setMax(max int) {
	if max < 1 {
		max = 1
	}
	s.mu.Lock()
	s.max = max
	for s.used < s.max && s.grantLocked() {
	}
	s.mu.Unlock()
}

// acquire waits for a slot; it fails only when ctx ends.
func (s *fairSem) acquire(ctx context.Context, owner any) error {
	s.mu.Lock()
	if s.used < s.max && len(s.order) == 0 {
		s.used++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	if len(s.queues[owner]) == 0 {
		s.order = append(s.order, owner)
	}
	s.queues[owner] = append(s.queues[owner], ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-ch:
			// Granted meanwhile: pass the slot on.
			s.releaseLocked()
		default:
			s.removeLocked(owner, ch)
		}
		return ctx.Err()
	}
}

// release frees a slot, handing it to the next owner in turn.
func (s *fairSem) release() {
	s.mu.Lock()
	s.releaseLocked()
	s.mu.Unlock()
}

func (s *fairSem) releaseLocked() {
	s.used--
	for s.used < s.max && s.grantLocked() {
	}
}

// grantLocked gives a slot to the first waiter of the owner whose turn it
// is; false when nobody waits.
func (s *fairSem) grantLocked() bool {
	if len(s.order) == 0 {
		return false
	}
	owner := s.order[0]
	s.order = s.order[1:]
	q := s.queues[owner]
	ch := q[0]
	if len(q) == 1 {
		delete(s.queues, owner)
	} else {
		s.queues[owner] = q[1:]
		s.order = append(s.order, owner) // back of the line
	}
	s.used++
	close(ch)
	return true
}

func (s *fairSem) removeLocked(owner any, ch chan struct{}) {
	q := s.queues[owner]
	for i, c := range q {
		if c == ch {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) > 0 {
		s.queues[owner] = q
		return
	}
	delete(s.queues, owner)
	for i, o := range s.order {
		if o == owner {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
}

// inUse reports the slots taken and the requests waiting.
func (s *fairSem) inUse() (used, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		waiting += len(q)
	}
	return s.used, waiting
}
