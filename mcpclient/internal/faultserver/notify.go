package faultserver

import (
	"encoding/json"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
)

// listenStream is an open modern subscriptions/listen request.
type listenStream struct {
	id   json.RawMessage // the listen request's id, which tags every notification
	uris []string        // resourceSubscriptions the client asked for
}

func (s *Server) addListen(fw *faultWriter, id json.RawMessage, body []byte) {
	var msg struct {
		Params struct {
			Notifications struct {
				ResourceSubscriptions []string `json:"resourceSubscriptions"`
			} `json:"notifications"`
		} `json:"params"`
	}
	_ = json.Unmarshal(body, &msg)
	s.mu.Lock()
	s.listens[fw] = &listenStream{id: id, uris: msg.Params.Notifications.ResourceSubscriptions}
	s.mu.Unlock()
}

func (s *Server) removeListen(fw *faultWriter) {
	s.mu.Lock()
	delete(s.listens, fw)
	s.mu.Unlock()
}

// subscribe records a legacy session's resources/subscribe (on) or
// resources/unsubscribe.
func (in *instance) subscribe(session, uri string, on bool) {
	in.subsMu.Lock()
	defer in.subsMu.Unlock()
	if in.subs == nil {
		in.subs = make(map[string]map[string]bool)
	}
	if on {
		if in.subs[session] == nil {
			in.subs[session] = make(map[string]bool)
		}
		in.subs[session][uri] = true
	} else {
		delete(in.subs[session], uri)
	}
}

// NotifyResourceUpdated sends notifications/resources/updated for uri to
// every legacy session that subscribed to it (resources/subscribe; mcp-go
// delivers it on the session's GET stream or an in-flight POST stream) and
// on every open modern subscriptions/listen stream whose
// resourceSubscriptions include it (tagged with the listen request's id in
// _meta["io.modelcontextprotocol/subscriptionId"]). It returns how many
// sessions and streams it was sent to.
//
// mcp-go v1.2.1 acknowledges resourceSubscriptions on a listen stream but
// never delivers resources/updated there (its listen session keeps no
// subscriptions and its filter drops that method), so the server writes the
// event onto the stream itself, framed as mcp-go frames the others.
func (s *Server) NotifyResourceUpdated(uri string) int {
	s.mu.Lock()
	in := s.inst
	var streams []*faultWriter
	var ids []json.RawMessage
	for fw, l := range s.listens {
		if slices.Contains(l.uris, uri) {
			streams = append(streams, fw)
			ids = append(ids, l.id)
		}
	}
	s.mu.Unlock()

	n := 0
	in.subsMu.Lock()
	var sessions []string
	for id, uris := range in.subs {
		if uris[uri] {
			sessions = append(sessions, id)
		}
	}
	in.subsMu.Unlock()
	for _, id := range sessions {
		err := in.mcp.SendNotificationToSpecificClient(id, string(mcp.MethodNotificationResourceUpdated), map[string]any{"uri": uri})
		if err == nil {
			n++
		} else {
			s.logf("faultserver: resources/updated to session %s: %v", id, err)
		}
	}
	for i, fw := range streams {
		msg, _ := json.Marshal(map[string]any{
			"jsonrpc": "2.0",
			"method":  string(mcp.MethodNotificationResourceUpdated),
			"params": map[string]any{
				"uri":   uri,
				"_meta": map[string]any{mcp.MetaKeySubscriptionID: ids[i]},
			},
		})
		if fw.inject([]byte("event: message\ndata: " + string(msg) + "\n\n")) {
			n++
		}
	}
	s.logf("faultserver: resources/updated %s sent to %d sessions and streams", uri, n)
	return n
}
