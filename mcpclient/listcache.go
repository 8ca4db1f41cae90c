package mcpclient

import (
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// listCache keeps a modern session's list results for as long as the
// server's ttlMs says they stay fresh (2026-07-28's CacheableResult), so
// IDEs that list at every turn do not each cost a round trip. A change
// notification for a list empties its entries; a new session starts with
// none. Legacy servers give no ttlMs: nothing of theirs is cached.
type listCache struct {
	mu      sync.Mutex
	sess    *session
	entries map[string]listEntry // method + "\x00" + params (without _meta)
}

type listEntry struct {
	result  json.RawMessage
	expires time.Time
}

// cacheableMethods are the requests whose results carry ttlMs.
var cacheableMethods = map[string]bool{
	"tools/list": true, "prompts/list": true, "resources/list": true, "resources/templates/list": true,
}

// maxCachedLists bounds the entries (pages of lists) kept.
const maxCachedLists = 256

// listCacheKey keys a list request by method and params, _meta aside
// (the version, capabilities and progress token do not change a list).
func listCacheKey(method string, params json.RawMessage) (string, bool) {
	if !cacheableMethods[method] {
		return "", false
	}
	var p map[string]json.RawMessage
	if len(params) > 0 && json.Unmarshal(params, &p) != nil {
		return "", false
	}
	delete(p, "_meta")
	if p == nil {
		p = map[string]json.RawMessage{} // no params is the same list as {}
	}
	b, _ := json.Marshal(p)
	return method + "\x00" + string(b), true
}

func (c *listCache) get(s *session, key string) json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != s {
		return nil
	}
	e, ok := c.entries[key]
	if !ok || time.Now().After(e.expires) {
		delete(c.entries, key)
		return nil
	}
	return e.result
}

// put keeps a result for its ttlMs (nothing for 0 or none).
func (c *listCache) put(s *session, key string, result json.RawMessage) {
	var r struct {
		TTL *int64 `json:"ttlMs"`
	}
	if json.Unmarshal(result, &r) != nil || r.TTL == nil || *r.TTL <= 0 {
		return
	}
	ttl := min(time.Duration(*r.TTL)*time.Millisecond, time.Hour)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != s {
		c.sess, c.entries = s, map[string]listEntry{}
	}
	if len(c.entries) >= maxCachedLists {
		now := time.Now()
		for k, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedLists {
			return
		}
	}
	c.entries[key] = listEntry{result: result, expires: time.Now().Add(ttl)}
}

// invalidate drops the entries of the list a change notification names.
func (c *listCache) invalidate(notification string) {
	method := map[string]string{
		"notifications/tools/list_changed":     "tools/list",
		"notifications/prompts/list_changed":   "prompts/list",
		"notifications/resources/list_changed": "resources/list",
	}[notification]
	if method == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if strings.HasPrefix(k, method+"\x00") || (method == "resources/list" && strings.HasPrefix(k, "resources/templates/list\x00")) {
			delete(c.entries, k)
		}
	}
}
