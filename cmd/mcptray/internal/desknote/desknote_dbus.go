//go:build linux || freebsd || openbsd || netbsd

package desknote

import (
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"
)

// The Desktop Notifications Specification's names.
const (
	busName   = "org.freedesktop.Notifications"
	busPath   = dbus.ObjectPath("/org/freedesktop/Notifications")
	busIface  = "org.freedesktop.Notifications"
	actionKey = "default" // the action a click on the notification invokes
)

// maxPending bounds the click functions kept for notifications that
// were neither clicked nor reported closed (a server may never say).
const maxPending = 64

// Notifier sends notifications to the session's notification server and
// runs their click functions. Its methods are safe for concurrent use.
type Notifier struct {
	opts Options

	mu      sync.Mutex
	conn    *dbus.Conn
	pending map[uint32]func() // notification id → click function
	order   []uint32          // ids in pending, oldest first
	closed  bool
}

// New returns a Notifier. It connects to the bus at the first Notify.
func New(opts Options) *Notifier {
	opts.defaults()
	return &Notifier{opts: opts, pending: map[uint32]func(){}}
}

// Notify shows a notification. onClick, when not nil, runs (on a
// goroutine of the Notifier) when the user clicks it, once. It returns
// ErrUnavailable (wrapped) when there is no session bus or no
// notification server on it.
func (n *Notifier) Notify(title, body string, onClick func()) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrUnavailable
	}
	// Twice: a connection that broke (the bus restarted) is replaced.
	var err error
	for range 2 {
		var conn *dbus.Conn
		if conn, err = n.connect(); err != nil {
			return err
		}
		var id uint32
		actions := []string{}
		if onClick != nil {
			actions = []string{actionKey, "Open"}
		}
		// The id is stored before the lock is released, so a click
		// reported at once still finds its function (the signal loop
		// takes the same lock).
		err = conn.Object(busName, busPath).Call(busIface+".Notify", 0,
			n.opts.AppName, uint32(0), "", title, body, actions,
			map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(1))}, int32(-1)).Store(&id)
		if err == nil {
			if onClick != nil {
				n.remember(id, onClick)
			}
			return nil
		}
		if conn.Connected() {
			break // the bus is there; the server is not, or refused
		}
		n.drop()
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// connect returns the connection, making it (and its signal loop) when
// there is none. n.mu is held.
func (n *Notifier) connect() (*dbus.Conn, error) {
	if n.conn != nil && n.conn.Connected() {
		return n.conn, nil
	}
	n.drop()
	var conn *dbus.Conn
	var err error
	if n.opts.Address != "" {
		conn, err = dbus.Connect(n.opts.Address)
	} else {
		conn, err = dbus.ConnectSessionBus()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, busName).Store(&has); err != nil || !has {
		conn.Close()
		if err == nil {
			err = fmt.Errorf("nothing owns %s", busName)
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for _, member := range []string{"ActionInvoked", "NotificationClosed"} {
		if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(busPath), dbus.WithMatchInterface(busIface), dbus.WithMatchMember(member)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	n.conn = conn
	go n.loop(ch)
	return conn, nil
}

// drop closes the connection, if any. godbus closes the signal channel
// as the connection ends (also when it broke on its own), which ends the
// signal loop. n.mu is held.
func (n *Notifier) drop() {
	if n.conn != nil {
		n.conn.Close()
		n.conn = nil
	}
}

// loop runs click functions as the server reports clicks, and forgets
// notifications it reports closed.
func (n *Notifier) loop(ch <-chan *dbus.Signal) {
	for sig := range ch {
		if len(sig.Body) < 2 {
			continue
		}
		id, ok := sig.Body[0].(uint32)
		if !ok {
			continue
		}
		switch sig.Name {
		case busIface + ".ActionInvoked":
			key, _ := sig.Body[1].(string)
			n.mu.Lock()
			fn := n.pending[id]
			n.forget(id)
			n.mu.Unlock()
			if fn != nil && key == actionKey {
				n.opts.Logger.Debug("a desktop notification was clicked", "id", id)
				fn()
			}
		case busIface + ".NotificationClosed":
			n.mu.Lock()
			n.forget(id)
			n.mu.Unlock()
		}
	}
}

// remember keeps a click function, dropping the oldest beyond maxPending.
// n.mu is held.
func (n *Notifier) remember(id uint32, fn func()) {
	n.pending[id] = fn
	n.order = append(n.order, id)
	for len(n.order) > maxPending {
		delete(n.pending, n.order[0])
		n.order = n.order[1:]
	}
}

// forget drops a notification's click function. n.mu is held.
func (n *Notifier) forget(id uint32) {
	if _, ok := n.pending[id]; !ok {
		return
	}
	delete(n.pending, id)
	for i, o := range n.order {
		if o == id {
			n.order = append(n.order[:i], n.order[i+1:]...)
			break
		}
	}
}

// Close disconnects; later Notify calls return ErrUnavailable.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	n.drop()
	return nil
}
