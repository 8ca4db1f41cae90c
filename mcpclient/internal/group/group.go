// Package group owns goroutines for an owner that waits for them: the
// supervisor of one upstream, a transport connection. Once the owner has
// begun to wait, Go starts nothing more, so no goroutine starts behind
// its back (a sync.WaitGroup's Add may not race with its Wait). It imports
// the standard library only.
package group

import "sync"

// Group is a set of goroutines one owner waits for. The zero value is
// ready to use.
type Group struct {
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
}

// Go runs f in a new goroutine of the group and reports true; once Wait
// has been called it does nothing and reports false, and the caller does
// without (or cleans up what f would have).
func (g *Group) Go(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Go(f)
	return true
}

// Wait refuses new goroutines and waits for those running. Each must end
// once the owner has cancelled what it waits on; Wait does not cancel.
func (g *Group) Wait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
