package mcpclient

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	ID    string
	Event string
	Data  []byte
	Retry time.Duration
}

// sseReader parses a text/event-stream body (WHATWG HTML, "Server-sent
// events"). It is not safe for concurrent use.
type sseReader struct {
	r       *bufio.Reader
	lastID  string
	retry   time.Duration
	maxLine int
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 32<<10), maxLine: maxMessageSize}
}

// errLineTooLong is returned for an SSE line longer than the message limit.
var errLineTooLong = errors.New("SSE line exceeds the message size limit")

func (s *sseReader) readLine() ([]byte, error) {
	var line []byte
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(line)+len(frag) > s.maxLine {
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				// A final line without a newline is not dispatched.
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		return line, nil
	}
}

// Next returns the next event with data. io.EOF means the stream ended
// cleanly between events; any other error is a broken stream.
func (s *sseReader) Next() (*sseEvent, error) {
	var ev sseEvent
	var data bytes.Buffer
	hasData, hasID := false, false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && (hasData || ev.Event != "") {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) == 0 {
			if !hasData {
				if hasID {
					s.lastID = ev.ID
				}
				ev, hasID = sseEvent{}, false
				continue
			}
			ev.Data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
			if hasID {
				s.lastID = ev.ID // only once the event is delivered
			}
			ev.Retry = s.retry
			return &ev, nil
		}
		if line[0] == ':' {
			continue // comment / keep-alive
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			data.Write(value)
			data.WriteByte('\n')
			hasData = true
		case "event":
			ev.Event = string(value)
		case "id":
			if !bytes.ContainsRune(value, 0) {
				ev.ID = string(value)
				hasID = true
			}
		case "retry":
			if n, err := strconv.Atoi(strings.TrimSpace(string(value))); err == nil && n >= 0 {
				s.retry = time.Duration(n) * time.Millisecond
			}
		}
	}
}
