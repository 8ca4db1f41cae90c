// Package jsonrpc owns mcptray's JSON-RPC 2.0 messages: the message type
// kept raw (ids, params, results and errors pass on byte-for-byte), parsing
// and encoding, id keys, the one table of every error code mcptray emits,
// and what both ends of a newline-delimited stream share — reading a line
// with a size bound (skipping one that is too large instead of losing the
// stream), framing a message as exactly one line, and finding a request's
// id in the first bytes of a message too large to parse.
//
// It imports the standard library only: the bridge links it, and nothing
// of the hub may leak in.
package jsonrpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// PrefixSize is how much of a skipped message is kept to find its id.
const PrefixSize = 4 << 10

// TooLargeError reports a message larger than the limit. The message was
// read past and dropped; the stream it came on is still usable.
type TooLargeError struct {
	Limit int64
	// Prefix is the message's first bytes (at most PrefixSize).
	Prefix []byte
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("message larger than the %s limit", FormatSize(e.Limit))
}

// ID is the id of the dropped message, when its first bytes show one.
func (e *TooLargeError) ID() json.RawMessage { return IDFromPrefix(e.Prefix) }

// FormatSize renders a byte count the way the config's help text does.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadLine reads one newline-terminated line of at most max bytes (the
// newline and a trailing CR not counted) and returns it without them. A
// longer line is read to its end and dropped: the error is a
// *TooLargeError and the next call reads the line after it. A last line
// without a newline is returned with io.EOF.
func ReadLine(r *bufio.Reader, max int64) ([]byte, error) {
	var line []byte
	over := false
	var prefix []byte
	for {
		frag, err := r.ReadSlice('\n')
		if !over && int64(len(line)+len(frag)) > max+2 {
			// +2: the newline and a CR are not part of the message.
			over = true
			prefix = append(line, frag...)
			if len(prefix) > PrefixSize {
				prefix = prefix[:PrefixSize]
			}
			prefix = append([]byte(nil), prefix...)
			line = nil
		}
		if !over {
			if line == nil && err == nil {
				line = append([]byte(nil), frag...)
			} else {
				line = append(line, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if over {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, &TooLargeError{Limit: max, Prefix: prefix}
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if int64(len(line)) > max {
			return nil, &TooLargeError{Limit: max, Prefix: clip(line)}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return line, io.EOF
			}
			return nil, err
		}
		return line, nil
	}
}

func clip(b []byte) []byte {
	if len(b) > PrefixSize {
		b = b[:PrefixSize]
	}
	return append([]byte(nil), b...)
}

// ErrNotJSON is returned by Frame for bytes that are not one JSON value.
var ErrNotJSON = errors.New("not a single well-formed JSON value")

// Frame returns msg as exactly one line's worth of JSON: validated, and
// with insignificant white space (newlines above all) removed. Values are
// kept as they are — json.Compact changes white space between tokens,
// never a string, number or key — so a pretty-printed result reaches the
// IDE with the same content on one line. msg is returned as is when it is
// already compact enough (no CR or LF), which is the common case.
func Frame(msg []byte) ([]byte, error) {
	if !json.Valid(msg) {
		return nil, ErrNotJSON
	}
	if bytes.IndexByte(msg, '\n') < 0 && bytes.IndexByte(msg, '\r') < 0 {
		return msg, nil
	}
	var b bytes.Buffer
	b.Grow(len(msg))
	if err := json.Compact(&b, msg); err != nil {
		return nil, ErrNotJSON
	}
	return b.Bytes(), nil
}

// IDFromPrefix finds the top-level "id" of a JSON-RPC message from its
// first bytes, for answering a message too large to read whole. It
// returns nil when the prefix does not show one (the id may come after a
// large field, or the bytes are not JSON).
func IDFromPrefix(prefix []byte) json.RawMessage {
	id, _ := HeadFromPrefix(prefix)
	return id
}

// HeadFromPrefix finds the top-level "id" and "method" of a JSON-RPC
// message among its first bytes; either is empty when the prefix does not
// show it.
func HeadFromPrefix(prefix []byte) (id json.RawMessage, method string) {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, ""
	}
	for {
		k, err := dec.Token()
		if err != nil {
			return id, method
		}
		key, ok := k.(string)
		if !ok {
			return id, method
		}
		switch key {
		case "id", "method":
			v, err := dec.Token()
			if err != nil {
				return id, method
			}
			switch v := v.(type) {
			case json.Number:
				if key == "id" {
					id = json.RawMessage(v.String())
				}
			case string:
				if key == "id" {
					id, _ = json.Marshal(v)
				} else {
					method = v
				}
			case json.Delim:
				return id, method // an object or array: not JSON-RPC
			}
			if id != nil && method != "" {
				return id, method
			}
			continue
		}
		if !skipValue(dec) {
			return id, method
		}
	}
}

// skipValue reads past one value.
func skipValue(dec *json.Decoder) bool {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return true
		}
	}
}
