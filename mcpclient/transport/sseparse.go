package transport

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// maxSSERetry caps a server's retry: field.
const maxSSERetry = time.Hour

// sseEvent is one server-sent event.
type sseEvent struct {
	ID    string
	Event string
	Data  []byte
	Retry time.Duration
}

// sseReader parses a text/event-stream body (WHATWG HTML, "Server-sent
// events"). One event's data — however many data: lines carry it — is
// bounded by max: a larger event is read past and dropped, Next reports it
// as a *jsonrpc.TooLargeError, and the stream stays usable. It is not
// safe for concurrent use.
type sseReader struct {
	r      *bufio.Reader
	lastID string
	retry  time.Duration
	max    int64
}

func newSSEReader(r io.Reader, max int64) *sseReader {
	if max <= 0 {
		max = defaultMaxMessage
	}
	return &sseReader{r: bufio.NewReaderSize(r, sseBufSize), max: max}
}

// sseBufSize is the read buffer of one SSE body. Each POST's answer has
// its own reader, so this is allocated per upstream request: 32 KiB made
// two fifths of the bytes the bench process allocated at 2,000 calls/s. A line longer than the
// buffer is assembled by readLine, so the size bounds nothing.
const sseBufSize = 4 << 10

// readLine reads one line, or at most room bytes of it: the rest of a
// longer line is read past and dropped (over is true). The line is only
// valid until the next call.
func (s *sseReader) readLine(room int64) (line []byte, over bool, err error) {
	var buf []byte
	for {
		frag, err := s.r.ReadSlice('\n')
		if !over {
			if int64(len(buf)+len(frag)) > room+2 { // +2: CR LF
				over = true
				keep := room - int64(len(buf))
				if keep > 0 {
					buf = append(buf, frag[:keep]...)
				}
			} else if buf == nil && err == nil {
				buf = frag
			} else {
				buf = append(buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue // buf holds a copy: frag is overwritten next
		}
		if err != nil {
			if err == io.EOF && (len(buf) > 0 || over) {
				// A final line without a newline is not dispatched.
				return nil, over, io.ErrUnexpectedEOF
			}
			return nil, over, err
		}
		if !over {
			buf = bytes.TrimSuffix(buf, []byte("\n"))
			buf = bytes.TrimSuffix(buf, []byte("\r"))
		}
		return buf, over, nil
	}
}

// Next returns the next event with data. io.EOF means the stream ended
// cleanly between events; a *jsonrpc.TooLargeError an event dropped for
// its size (call Next again for the next one); any other error is a broken
// stream.
func (s *sseReader) Next() (*sseEvent, error) {
	var ev sseEvent
	var data bytes.Buffer
	hasData, hasID, tooLarge := false, false, false
	var prefix []byte
	for {
		room := s.max - int64(data.Len())
		if room < 0 {
			room = 0
		}
		line, over, err := s.readLine(room + 16) // room for the field name
		if err != nil {
			if err == io.EOF && (hasData || ev.Event != "") {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) == 0 && !over {
			if !hasData && !tooLarge {
				if hasID {
					s.lastID = ev.ID
				}
				ev, hasID = sseEvent{}, false
				continue
			}
			if hasID {
				s.lastID = ev.ID // only once the event is delivered
			}
			if tooLarge {
				return nil, &jsonrpc.TooLargeError{Limit: s.max, Prefix: prefix}
			}
			ev.Data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
			ev.Retry = s.retry
			return &ev, nil
		}
		if len(line) > 0 && line[0] == ':' {
			continue // comment / keep-alive
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			hasData = true
			if tooLarge {
				continue
			}
			if over || int64(data.Len()+len(value)) > s.max {
				tooLarge = true
				prefix = append(append([]byte(nil), data.Bytes()...), value...)
				if len(prefix) > jsonrpc.PrefixSize {
					prefix = prefix[:jsonrpc.PrefixSize]
				}
				data.Reset()
				continue
			}
			data.Write(value)
			data.WriteByte('\n')
		case "event":
			if !over {
				ev.Event = string(value)
			}
		case "id":
			if !over && !bytes.ContainsRune(value, 0) {
				ev.ID = string(value)
				hasID = true
			}
		case "retry":
			if n, err := strconv.ParseInt(strings.TrimSpace(string(value)), 10, 64); err == nil && n >= 0 {
				// Capped, so that a huge value cannot overflow into a
				// negative wait (found by FuzzSSEReader).
				s.retry = time.Duration(min(n, maxSSERetry.Milliseconds())) * time.Millisecond
			}
		}
	}
}

// IsTooLarge reports a message dropped for its size.
func IsTooLarge(err error) (*jsonrpc.TooLargeError, bool) {
	var tl *jsonrpc.TooLargeError
	ok := errors.As(err, &tl)
	return tl, ok
}
