package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"time"

	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// HubLogger is the hub's logger: text lines with secrets redacted, to the
// size-capped, rotating hub.log in the state dir and to stderr — unless
// stderr already is that file (a hub a bridge started), so lines are not
// written twice. The values in known (which the hub adds to: give it the
// same set in HubOptions.Secrets) are scrubbed from every record, and
// secrets are redacted by their shape. The level comes from
// MCPTRAY_LOG_LEVEL, as in Logger. Call close when the hub is done.
func HubLogger(stderr io.Writer, known *logfile.Secrets) (log *slog.Logger, close func()) {
	opts := &slog.HandlerOptions{Level: envLevel()}
	var hs logfile.MultiHandler
	var lf *logfile.File
	home, err := paths.Home()
	if err == nil {
		if err = os.MkdirAll(home, 0o700); err == nil {
			lf, err = logfile.Open(paths.HubLog(home), logfile.Options{})
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "mcptray: cannot open the log file (%v); logging to stderr only\n", err)
	}
	if lf != nil {
		hs = append(hs, slog.NewTextHandler(lf, opts))
	}
	if lf == nil || !isFile(stderr, lf.Path()) {
		hs = append(hs, slog.NewTextHandler(stderr, opts))
	}
	return slog.New(logfile.NewRedactHandlerWith(hs, known)), func() {
		if lf != nil {
			lf.Close()
		}
	}
}

// envLevel is the level Logger uses (MCPTRAY_LOG_LEVEL).
func envLevel() slog.Level {
	h := Logger(io.Discard).Handler()
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if h.Enabled(context.Background(), l) {
			return l
		}
	}
	return slog.LevelError
}

// isFile reports whether w is the file at path.
func isFile(w io.Writer, path string) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// Logs prints the hub's log, optionally only one server's lines, and with
// -f keeps printing new lines (across rotations) until interrupted.
func Logs(ctx context.Context, env Env, args []string) int {
	fs := newFlags("logs", env)
	follow := fs.Bool("f", false, "keep printing new lines as the hub writes them")
	lines := fs.Int("n", 200, "print the last N lines (0: all)")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray logs [NAME] [-f] [-n N]")
		return 2
	}
	home, err := paths.Home()
	if err != nil {
		fmt.Fprintf(env.Stderr, "mcptray logs: %v\n", err)
		return 1
	}
	path := paths.HubLog(home)
	match := func([]byte) bool { return true }
	if fs.NArg() == 1 {
		re := regexp.MustCompile(`(^|\s)server="?` + regexp.QuoteMeta(fs.Arg(0)) + `"?(\s|$)`)
		match = re.Match
	}
	files := logfile.Files(path, 0)
	if len(files) == 0 && !*follow {
		fmt.Fprintf(env.Stderr, "mcptray logs: no log yet at %s (the hub writes it once it runs)\n", path)
		return 1
	}
	// The last N matching lines of the rotated files and the current one.
	var tail [][]byte
	var seen os.FileInfo // the current file as read, to follow from its end
	var seenSize int64
	for _, f := range files {
		b, err := readFileInfo(f, &seen)
		if err != nil {
			continue
		}
		if f == path {
			seenSize = int64(len(b))
		} else {
			seen = nil
		}
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			if len(line) == 0 || !match(line) {
				continue
			}
			tail = append(tail, line)
			if *lines > 0 && len(tail) > 2*(*lines) {
				tail = append([][]byte(nil), tail[len(tail)-*lines:]...)
			}
		}
	}
	if *lines > 0 && len(tail) > *lines {
		tail = tail[len(tail)-*lines:]
	}
	for _, l := range tail {
		env.Stdout.Write(l)
	}
	if !*follow {
		return 0
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	if err := followLog(ctx, path, seen, seenSize, env.Stdout, match); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(env.Stderr, "mcptray logs: %v\n", err)
		return 1
	}
	return 0
}

// readFileInfo reads a file and stats the same open file.
func readFileInfo(path string, info *os.FileInfo) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		*info = st
	}
	return io.ReadAll(f)
}

// followLog prints lines appended to path after the first size bytes of
// the file seen (those were printed already; a different or missing file
// is read from its start), and from the start of each new file after a
// rotation.
func followLog(ctx context.Context, path string, seen os.FileInfo, size int64, w io.Writer, match func([]byte) bool) error {
	var f *os.File
	var r *bufio.Reader
	var pending []byte
	open := func(from int64) {
		nf, err := os.Open(path)
		if err != nil {
			return
		}
		if from > 0 {
			nf.Seek(from, io.SeekStart)
		}
		f, r, pending = nf, bufio.NewReader(nf), nil
	}
	if st, err := os.Stat(path); err == nil && seen != nil && os.SameFile(st, seen) {
		open(size)
	} else {
		open(0)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	drain := func() error {
		if f == nil {
			return nil
		}
		for {
			chunk, err := r.ReadBytes('\n')
			pending = append(pending, chunk...)
			if err != nil {
				return nil // a partial line waits for the rest
			}
			if match(pending) {
				if _, werr := w.Write(pending); werr != nil {
					return werr
				}
			}
			pending = nil
		}
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := drain(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		cur, err := os.Stat(path)
		if err != nil {
			continue
		}
		if f == nil {
			open(0)
			continue
		}
		// Rotated (a new file at path) or truncated: finish the old file,
		// then read the new one from its start.
		st, err := f.Stat()
		pos, _ := f.Seek(0, io.SeekCurrent)
		if err != nil || !os.SameFile(st, cur) || cur.Size() < pos {
			if err := drain(); err != nil {
				return err
			}
			f.Close()
			f = nil
			open(0)
		}
	}
}
