package ipc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/paths"
)

// UnsafeError means the hub's socket, its directory or the state dir is not
// this user's own: another user may be listening there in the hub's place
// (a predictable path in the temp dir can be taken first). Clients refuse
// to send anything to such a socket, the bridge does not start a hub into
// it, and the hub refuses to serve there.
type UnsafeError struct {
	Socket  string // the hub's socket path ("" when the state dir itself is refused)
	Path    string // what was refused: the socket, its directory or the state dir
	Subject string // how to name Path: "its directory /tmp/x", "the socket file", …
	Problem string // what is wrong with it: "is owned by uid 65534, not by this user (uid 1000)"
	Owner   int    // uid owning Path (or running the process that serves the socket); -1 unknown
	UID     int    // this user's uid
	Fix     string // what the user can do
	Hub     bool   // the hub refused (rather than a client)
}

func (e *UnsafeError) Error() string {
	var b strings.Builder
	switch {
	case e.Socket == "":
		b.WriteString("refusing to use the mcptray " + strings.TrimPrefix(e.Subject, "the ") + ": it " + e.Problem)
		b.WriteString("; another user could replace the hub's socket or lock there. " + e.Fix)
		return b.String()
	case e.Hub:
		b.WriteString("refusing to serve on the mcptray socket " + e.Socket + ": ")
	default:
		b.WriteString("refusing to connect to the mcptray socket " + e.Socket + ": ")
	}
	b.WriteString(e.Subject + " " + e.Problem)
	if e.Hub {
		b.WriteString("; another user could answer the IDEs in the hub's place there")
	} else {
		b.WriteString("; another user may be answering in the hub's place, so nothing was sent to it")
	}
	b.WriteString(". " + e.Fix)
	return b.String()
}

// ownedBy says who owns a path, for messages.
func ownedBy(owner, uid int) string {
	if owner < 0 {
		return "is not owned by this user (uid " + strconv.Itoa(uid) + ")"
	}
	return "is owned by uid " + strconv.Itoa(owner) + ", not by this user (uid " + strconv.Itoa(uid) + ")"
}

// fixFor says what the user can do about a refused path.
func fixFor(path string, owner, uid int, stateDir bool) string {
	remove := "Remove " + path
	if owner >= 0 && owner != uid {
		remove += fmt.Sprintf(" (owned by uid %d: its owner or an administrator can remove it)", owner)
	}
	if stateDir {
		if owner == uid {
			return "Run `chmod 700 " + path + "`, or set MCPTRAY_HOME to a directory of your own."
		}
		return fmt.Sprintf("Set MCPTRAY_HOME to a directory of your own, or have %s removed or given to you (sudo chown -R %d %s).", path, uid, path)
	}
	if paths.IsTempSocketDir(path) {
		return remove + ", or set MCPTRAY_HOME to a path shorter than 91 bytes so that the socket lives in your own state dir."
	}
	return remove + " and start the hub again (`mcptray serve` or the tray app)."
}

func itoa(i int) string { return strconv.Itoa(i) }
