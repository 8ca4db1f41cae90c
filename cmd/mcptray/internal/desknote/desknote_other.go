//go:build !linux && !freebsd && !openbsd && !netbsd

package desknote

// Notifier shows notifications. Here (macOS, Windows) it never does: the
// caller's fallback (Fyne's notification) shows them.
type Notifier struct{}

// New returns a Notifier.
func New(opts Options) *Notifier { return &Notifier{} }

// Notify returns ErrUnavailable.
func (n *Notifier) Notify(title, body string, onClick func()) error { return ErrUnavailable }

// Close does nothing.
func (n *Notifier) Close() error { return nil }
