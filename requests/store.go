package requests

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store keeps requests, their idempotency keys and the outbox of webhook
// deliveries. Every method that changes something returns only once the
// change is committed to disk.
type Store interface {
	// Create stores a new request made with idempotency key key ("" for
	// none) and queues deliveries to the institutions in notify. With a key
	// already used by the same institution it returns the request created
	// then and created false, or ErrIdempotencyConflict when fingerprint
	// (a hash of what the caller sent) differs.
	Create(ctx context.Context, r *Request, key, fingerprint string, notify []string) (stored *Request, created bool, err error)
	// Get returns the request with id, or ErrNotFound.
	Get(ctx context.Context, id string) (*Request, error)
	// Update applies fn to the request with id in one transaction; fn
	// returns the institutions to notify of the change. An error from fn
	// leaves the request unchanged and is returned as is.
	Update(ctx context.Context, id string, fn func(r *Request) (notify []string, err error)) (*Request, error)
	// List returns the requests of inst on one side, newest first, at most
	// limit, with status when status is not "".
	List(ctx context.Context, inst string, party Party, status Status, limit int) ([]*Request, error)
	Outbox
}

// Outbox is the durable queue of webhook deliveries.
type Outbox interface {
	// Pending returns up to limit deliveries queued after the one with id
	// after ("" for the first), in the order they were queued.
	Pending(ctx context.Context, after string, limit int) ([]Delivery, error)
	// Ack removes a delivery that was acknowledged.
	Ack(ctx context.Context, id string) error
	// Reschedule records a failed attempt and when to try next.
	Reschedule(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error
	// Fail records an attempt that failed for good: the delivery stays,
	// marked Failed with its error, and is no longer attempted.
	Fail(ctx context.Context, id string, attempts int, lastErr string) error
	// Queued is signalled (without blocking, capacity one) when deliveries
	// are added.
	Queued() <-chan struct{}
}

// Delivery is one webhook message to one institution.
type Delivery struct {
	// ID is stable across retries: the receiver dedupes on it.
	ID string `json:"id"`
	// Institution is the receiving institution.
	Institution string `json:"institution"`
	// Event is "request.created" or "request.status_changed".
	Event string `json:"event"`
	// Request is the request as it was when the event happened.
	Request   *Request  `json:"request"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
	// Failed marks a delivery that failed for good (see PermanentError);
	// it stays in the outbox for inspection and is not attempted again.
	Failed bool `json:"failed,omitempty"`
}

// Events.
const (
	EventCreated       = "request.created"
	EventStatusChanged = "request.status_changed"
)

// Errors.
var (
	ErrNotFound = errors.New("no such request")
	// ErrIdempotencyConflict: the key was used for a different request.
	ErrIdempotencyConflict = errors.New("the Idempotency-Key was already used for a different request")
	ErrClosed              = errors.New("request store is closed")
)

// Buckets. requests: id → request JSON. idempotency: institution NUL key →
// fingerprint NUL id. by_requester, by_supplier: institution NUL id →
// creation number ("" in stores written before it was kept).
// outbox: delivery id → Delivery JSON; its sequence numbers deliveries.
// The requests bucket's sequence numbers requests in creation order; the
// number is kept as the value of their by_requester and by_supplier entries
// (an 8-byte big-endian creation number), never in their ids.
var (
	bucketRequests    = []byte("requests")
	bucketIdempotency = []byte("idempotency")
	bucketRequester   = []byte("by_requester")
	bucketSupplier    = []byte("by_supplier")
	bucketOutbox      = []byte("outbox")
)

const dbFile = "requests.db"

// BoltStore is the Store in one bbolt file. It is safe for concurrent use;
// concurrent creations share commits (and their fsync).
type BoltStore struct {
	db     *bolt.DB
	queued chan struct{}
	now    func() time.Time
}

// OpenBolt opens (creating if needed) the store in dir/requests.db. Another
// process holding it open makes OpenBolt fail after a second.
func OpenBolt(dir string) (*BoltStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open requests %s: %w", dir, err)
	}
	path := filepath.Join(dir, dbFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open requests database %s (another process may have it open): %w", path, err)
	}
	// Group concurrent creations into one commit within 2 ms.
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRequests, bucketIdempotency, bucketRequester, bucketSupplier, bucketOutbox} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open requests database %s: %w", path, err)
	}
	s := &BoltStore{db: db, queued: make(chan struct{}, 1), now: func() time.Time { return time.Now().UTC() }}
	if n, _ := s.pendingCount(); n > 0 {
		s.signal()
	}
	return s, nil
}

// Close closes the database.
func (s *BoltStore) Close() error { return s.db.Close() }

func (s *BoltStore) Queued() <-chan struct{} { return s.queued }

func (s *BoltStore) signal() {
	select {
	case s.queued <- struct{}{}:
	default:
	}
}

func pair(a, b string) []byte { return []byte(a + "\x00" + b) }

// newRequestID returns a fresh request id: "req-" and 16 lower-case base32
// characters from crypto/rand (80 bits), URL-safe. Ids are random so that
// they say nothing about how many requests the service holds; stores
// written before kept "req-<n>" ids, which still work.
func newRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // never fails (the runtime aborts instead)
	return "req-" + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// orderValue is the value of a by_requester or by_supplier entry: the
// request's creation number, big-endian, which orders a party's requests
// without being shown to anyone.
func orderValue(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// orderOf is the creation number of an index entry: its value, or for an
// entry written before values were kept, the number in its "req-<n>" id.
func orderOf(id, value []byte) uint64 {
	if len(value) == 8 {
		return binary.BigEndian.Uint64(value)
	}
	n, _ := strconv.ParseUint(string(bytes.TrimPrefix(id, []byte("req-"))), 10, 64)
	return n
}

func (s *BoltStore) pendingCount() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketOutbox).Stats().KeyN
		return nil
	})
	return n, err
}

// queue adds deliveries of event about r for the institutions in notify.
func queue(tx *bolt.Tx, event string, r *Request, notify []string, now time.Time) error {
	ob := tx.Bucket(bucketOutbox)
	for _, inst := range notify {
		seq, err := ob.NextSequence()
		if err != nil {
			return err
		}
		d := Delivery{ID: fmt.Sprintf("dlv-%016d", seq), Institution: inst, Event: event, Request: r, NextAt: now}
		body, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := ob.Put([]byte(d.ID), body); err != nil {
			return err
		}
	}
	return nil
}

func (s *BoltStore) Create(ctx context.Context, r *Request, key, fingerprint string, notify []string) (*Request, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var stored *Request
	var created bool
	// Batch runs fn again when another fn of the batch fails, so fn sets
	// everything it reports from scratch.
	err := s.db.Batch(func(tx *bolt.Tx) error {
		stored, created = nil, false
		idem := tx.Bucket(bucketIdempotency)
		reqs := tx.Bucket(bucketRequests)
		var ikey []byte
		if key != "" {
			ikey = pair(r.Requester, key)
			if v := idem.Get(ikey); v != nil {
				fp, id, _ := bytes.Cut(v, []byte{0})
				if string(fp) != fingerprint {
					return ErrIdempotencyConflict
				}
				old, err := decode(reqs.Get(id))
				if err != nil {
					return fmt.Errorf("request %s: %w", id, err)
				}
				stored = old
				return nil
			}
		}
		seq, err := reqs.NextSequence()
		if err != nil {
			return err
		}
		now := s.now()
		n := *r
		n.ID = newRequestID()
		for reqs.Get([]byte(n.ID)) != nil { // 80 random bits: practically never
			n.ID = newRequestID()
		}
		n.Status = RequestReceived
		n.Created, n.Updated = now, now
		n.History = []Event{{At: now, Actor: r.Requester, To: RequestReceived}}
		body, err := json.Marshal(&n)
		if err != nil {
			return err
		}
		if err := reqs.Put([]byte(n.ID), body); err != nil {
			return err
		}
		if ikey != nil {
			if err := idem.Put(ikey, append([]byte(fingerprint+"\x00"), n.ID...)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketRequester).Put(pair(n.Requester, n.ID), orderValue(seq)); err != nil {
			return err
		}
		if n.Supplier != "" {
			if err := tx.Bucket(bucketSupplier).Put(pair(n.Supplier, n.ID), orderValue(seq)); err != nil {
				return err
			}
		}
		if err := queue(tx, EventCreated, &n, notify, now); err != nil {
			return err
		}
		stored, created = &n, true
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrIdempotencyConflict) {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("create request: %w", err)
	}
	if created && len(notify) > 0 {
		s.signal()
	}
	return stored, created, nil
}

func decode(v []byte) (*Request, error) {
	if v == nil {
		return nil, ErrNotFound
	}
	var r Request
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (s *BoltStore) Get(ctx context.Context, id string) (*Request, error) {
	var r *Request
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = decode(tx.Bucket(bucketRequests).Get([]byte(id)))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("get request %s: %w", id, err)
	}
	return r, nil
}

func (s *BoltStore) Update(ctx context.Context, id string, fn func(r *Request) ([]string, error)) (*Request, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *Request
	var queued bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		reqs := tx.Bucket(bucketRequests)
		r, err := decode(reqs.Get([]byte(id)))
		if err != nil {
			return err
		}
		notify, err := fn(r)
		if err != nil {
			return err
		}
		body, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := reqs.Put([]byte(id), body); err != nil {
			return err
		}
		if err := queue(tx, EventStatusChanged, r, notify, s.now()); err != nil {
			return err
		}
		out, queued = r, len(notify) > 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	if queued {
		s.signal()
	}
	return out, nil
}

func (s *BoltStore) List(ctx context.Context, inst string, party Party, status Status, limit int) ([]*Request, error) {
	bucket := bucketRequester
	if party == Supplier {
		bucket = bucketSupplier
	}
	var out []*Request
	prefix := []byte(inst + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		reqs := tx.Bucket(bucketRequests)
		type entry struct {
			id    []byte
			order uint64
		}
		var entries []entry
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			entries = append(entries, entry{k[len(prefix):], orderOf(k[len(prefix):], v)})
		}
		// Newest first, by creation number (ids are random).
		slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(b.order, a.order) })
		for _, e := range entries {
			id := e.id
			if len(out) >= limit {
				break
			}
			r, err := decode(reqs.Get(id))
			if err != nil {
				return fmt.Errorf("request %s: %w", id, err)
			}
			if status == "" || r.Status == status {
				out = append(out, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list requests of %s: %w", inst, err)
	}
	return out, nil
}

func (s *BoltStore) Pending(ctx context.Context, after string, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		k, v := c.First()
		if after != "" {
			if k, v = c.Seek([]byte(after)); k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(out) < limit; k, v = c.Next() {
			var d Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("delivery %s: %w", k, err)
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

func (s *BoltStore) Ack(ctx context.Context, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketOutbox).Delete([]byte(id)) })
}

func (s *BoltStore) Reschedule(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error {
	return s.change(id, func(d *Delivery) { d.Attempts, d.NextAt, d.LastError = attempts, next, lastErr })
}

func (s *BoltStore) Fail(ctx context.Context, id string, attempts int, lastErr string) error {
	return s.change(id, func(d *Delivery) { d.Attempts, d.LastError, d.Failed = attempts, lastErr, true })
}

// change applies fn to the queued delivery with id, if it is still there.
func (s *BoltStore) change(id string, fn func(*Delivery)) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(bucketOutbox)
		v := ob.Get([]byte(id))
		if v == nil {
			return nil
		}
		var d Delivery
		if err := json.Unmarshal(v, &d); err != nil {
			return err
		}
		fn(&d)
		body, err := json.Marshal(d)
		if err != nil {
			return err
		}
		return ob.Put([]byte(id), body)
	})
}

// Fingerprint hashes what a caller sent, for idempotency checks.
func Fingerprint(body []byte) string {
	sum := sha256.Sum256(body)
	return fmt.Sprintf("%x", sum[:16])
}
