package lti

import (
	"container/list"
	"time"
)

// ttlMap is a map whose entries expire, kept in insertion order; callers
// insert with non-decreasing expiry (one TTL per map), so the front is always
// the first to expire. Not safe for concurrent use.
type ttlMap[V any] struct {
	byKey map[string]*list.Element
	order list.List
}

type ttlEntry[V any] struct {
	key     string
	value   V
	expires time.Time
}

func (m *ttlMap[V]) init() {
	m.byKey = make(map[string]*list.Element)
	m.order.Init()
}

// put sweeps expired entries, evicts the oldest while there are limit or
// more, and inserts.
func (m *ttlMap[V]) put(key string, v V, expires, now time.Time, limit int) {
	m.sweep(now)
	for m.order.Len() >= limit {
		m.removeElement(m.order.Front())
	}
	m.byKey[key] = m.order.PushBack(&ttlEntry[V]{key: key, value: v, expires: expires})
}

// sweep removes expired entries from the front. An entry inserted with an
// earlier expiry than one before it waits behind that one (get still
// treats it as gone).
func (m *ttlMap[V]) sweep(now time.Time) {
	for el := m.order.Front(); el != nil && !now.Before(el.Value.(*ttlEntry[V]).expires); el = m.order.Front() {
		m.removeElement(el)
	}
}

func (m *ttlMap[V]) get(key string, now time.Time) (V, bool) {
	var zero V
	el, ok := m.byKey[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*ttlEntry[V])
	if !now.Before(e.expires) {
		m.removeElement(el)
		return zero, false
	}
	return e.value, true
}

// take removes key and returns its value if it had not expired.
func (m *ttlMap[V]) take(key string, now time.Time) (V, bool) {
	v, ok := m.get(key, now)
	m.remove(key)
	return v, ok
}

func (m *ttlMap[V]) remove(key string) {
	if el, ok := m.byKey[key]; ok {
		m.removeElement(el)
	}
}

func (m *ttlMap[V]) removeElement(el *list.Element) {
	delete(m.byKey, el.Value.(*ttlEntry[V]).key)
	m.order.Remove(el)
}

func (m *ttlMap[V]) len() int { return m.order.Len() }
