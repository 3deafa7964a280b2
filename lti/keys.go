package lti

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeyOptions configures a [KeySet].
type KeyOptions struct {
	// RotateEvery rotates lazily: when the current key is older than this on
	// access (signing or JWKS), the set rotates. 0 → never automatically.
	// Keep it well above the platforms' JWKS cache time, so that every
	// platform has seen the next key before it signs.
	RotateEvery time.Duration
	// RetireAfter is how long a key that stopped signing stays published;
	// 0 → 24 hours. It must exceed the lifetime of what it signed.
	RetireAfter time.Duration
	Now         func() time.Time // nil → time.Now
	Bits        int              // RSA key size; 0 → 2048; less than 2048 is refused
	Logger      *slog.Logger     // nil → discard
}

// KeySet is the tool's own RSA signing keys, persisted in a directory.
//
// There are three kinds of key: the current key signs; the next key is
// already published in the JWKS but does not sign yet, so platforms that
// cache our JWKS know it before it is used; retired keys signed before and
// stay published until RetireAfter has passed. Rotate makes next current,
// retires the old current and creates a new next.
//
// The set is stored as one file, keys.json (mode 0600), in the directory,
// written atomically (temporary file, fsync, rename, fsync of the directory),
// so a crash leaves either the old or the new set. It is safe for concurrent
// use.
type KeySet struct {
	dir    string
	opts   KeyOptions
	logger *slog.Logger

	rotating sync.Mutex // serialises rotations (key generation runs outside mu)

	mu      sync.RWMutex
	current *ownKey
	next    *ownKey
	retired []*ownKey
}

// ownKey is one of our keys.
type ownKey struct {
	kid       string
	priv      *rsa.PrivateKey
	created   time.Time
	activated time.Time // when it became current; zero for next
	retired   time.Time // when it stopped signing; zero unless retired
	signer    jose.Signer
}

// keyFile is the on-disk form of a KeySet.
type keyFile struct {
	Version int            `json:"version"`
	Current keyFileEntry   `json:"current"`
	Next    keyFileEntry   `json:"next"`
	Retired []keyFileEntry `json:"retired,omitempty"`
}

type keyFileEntry struct {
	KID       string    `json:"kid"`
	Created   time.Time `json:"created"`
	Activated time.Time `json:"activated,omitzero"`
	Retired   time.Time `json:"retired,omitzero"`
	PEM       string    `json:"pem"` // PKCS #8 private key
}

const (
	keyFileName        = "keys.json"
	defaultRetireAfter = 24 * time.Hour
	defaultKeyBits     = 2048
)

// OpenKeySet loads the key set from dir, creating the directory and a new
// set (current and next key) when there is none.
func OpenKeySet(dir string, opts KeyOptions) (*KeySet, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetireAfter == 0 {
		opts.RetireAfter = defaultRetireAfter
	}
	if opts.Bits == 0 {
		opts.Bits = defaultKeyBits
	}
	if opts.Bits < defaultKeyBits {
		return nil, fmt.Errorf("lti: key size %d bits is below 2048", opts.Bits)
	}
	if opts.RotateEvery < 0 || opts.RetireAfter < 0 {
		return nil, errors.New("lti: negative key rotation duration")
	}
	k := &KeySet{dir: dir, opts: opts, logger: opts.Logger}
	if k.logger == nil {
		k.logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lti: open key set: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, keyFileName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		now := opts.Now()
		cur, err := k.generate(now)
		if err != nil {
			return nil, err
		}
		next, err := k.generate(now)
		if err != nil {
			return nil, err
		}
		cur.activated = now
		k.current, k.next = cur, next
		if err := k.saveLocked(); err != nil {
			return nil, err
		}
		k.logger.Info("lti key set created", "dir", dir, "current", cur.kid, "next", next.kid)
		return k, nil
	case err != nil:
		return nil, fmt.Errorf("lti: open key set: %w", err)
	}
	if err := k.load(data); err != nil {
		return nil, fmt.Errorf("lti: open key set %s: %w", dir, err)
	}
	return k, nil
}

func (k *KeySet) load(data []byte) error {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("decode %s: %w", keyFileName, err)
	}
	if f.Version != 1 {
		return fmt.Errorf("%s has version %d, want 1", keyFileName, f.Version)
	}
	var err error
	if k.current, err = k.decodeEntry(f.Current); err != nil {
		return fmt.Errorf("current key: %w", err)
	}
	if k.next, err = k.decodeEntry(f.Next); err != nil {
		return fmt.Errorf("next key: %w", err)
	}
	for _, e := range f.Retired {
		r, err := k.decodeEntry(e)
		if err != nil {
			return fmt.Errorf("retired key %s: %w", e.KID, err)
		}
		k.retired = append(k.retired, r)
	}
	return nil
}

func (k *KeySet) decodeEntry(e keyFileEntry) (*ownKey, error) {
	block, _ := pem.Decode([]byte(e.PEM))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PKCS #8 PEM block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	key, err := newOwnKey(priv, e.Created)
	if err != nil {
		return nil, err
	}
	if key.kid != e.KID {
		return nil, fmt.Errorf("kid %q does not match the key (%q)", e.KID, key.kid)
	}
	key.activated, key.retired = e.Activated, e.Retired
	return key, nil
}

// generate creates a new key (slow: up to a second for 2048 bits).
func (k *KeySet) generate(now time.Time) (*ownKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, k.opts.Bits)
	if err != nil {
		return nil, fmt.Errorf("lti: generate key: %w", err)
	}
	return newOwnKey(priv, now)
}

// newOwnKey derives the kid (RFC 7638 SHA-256 thumbprint, base64url) and the
// signer of priv.
func newOwnKey(priv *rsa.PrivateKey, created time.Time) (*ownKey, error) {
	pub := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("lti: key thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("lti: signer: %w", err)
	}
	return &ownKey{kid: kid, priv: priv, created: created, signer: signer}, nil
}

// Rotate makes the next key current, retires the current key (published
// until RetireAfter has passed) and creates a new next key. The new set is on
// disk before it is used; on error the set is unchanged.
func (k *KeySet) Rotate() error {
	k.rotating.Lock()
	defer k.rotating.Unlock()
	return k.rotateLocked()
}

// rotateLocked rotates; k.rotating must be held.
func (k *KeySet) rotateLocked() error {
	newNext, err := k.generate(k.opts.Now())
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.opts.Now()
	oldCurrent, oldNext, oldRetired := k.current, k.next, k.retired

	retiredCur := *oldCurrent
	retiredCur.retired = now
	promoted := *oldNext
	promoted.activated = now
	k.retired = append(k.liveRetiredLocked(now), &retiredCur)
	k.current, k.next = &promoted, newNext
	if err := k.saveLocked(); err != nil {
		k.current, k.next, k.retired = oldCurrent, oldNext, oldRetired
		return err
	}
	k.logger.Info("lti signing key rotated", "current", promoted.kid, "next", newNext.kid, "retired", retiredCur.kid)
	return nil
}

// liveRetiredLocked returns the retired keys still to be published at now.
func (k *KeySet) liveRetiredLocked(now time.Time) []*ownKey {
	var live []*ownKey
	for _, r := range k.retired {
		if now.Sub(r.retired) < k.opts.RetireAfter {
			live = append(live, r)
		}
	}
	return live
}

// maybeRotate rotates when RotateEvery is set and the current key is older.
// When another rotation is already under way it returns at once: the caller
// goes on with the current key. A failure is logged and the current key kept.
func (k *KeySet) maybeRotate() {
	if k.opts.RotateEvery <= 0 {
		return
	}
	k.mu.RLock()
	due := k.opts.Now().Sub(k.current.activated) >= k.opts.RotateEvery
	k.mu.RUnlock()
	if !due || !k.rotating.TryLock() {
		return
	}
	defer k.rotating.Unlock()
	k.mu.RLock()
	due = k.opts.Now().Sub(k.current.activated) >= k.opts.RotateEvery
	k.mu.RUnlock()
	if !due {
		return
	}
	if err := k.rotateLocked(); err != nil {
		k.logger.Error("lti scheduled key rotation failed; the current key goes on signing", "err", err)
	}
}

// signer returns the signer of the current key and its kid.
func (k *KeySet) signer() (jose.Signer, string) {
	k.maybeRotate()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.signer, k.current.kid
}

// CurrentKID is the kid of the key that signs now.
func (k *KeySet) CurrentKID() string {
	k.maybeRotate()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.kid
}

// JWKS returns the public keys to publish, as {"keys":[…]}: current, next
// and the retired keys younger than RetireAfter, each with kid, kty "RSA",
// alg "RS256", use "sig", n and e.
func (k *KeySet) JWKS() []byte {
	k.maybeRotate()
	k.mu.RLock()
	keys := []*ownKey{k.current, k.next}
	keys = append(keys, k.liveRetiredLocked(k.opts.Now())...)
	k.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, key := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       &key.priv.PublicKey,
			KeyID:     key.kid,
			Algorithm: string(jose.RS256),
			Use:       "sig",
		})
	}
	out, err := json.Marshal(set)
	if err != nil { // cannot happen for RSA public keys
		k.logger.Error("lti JWKS encoding failed", "err", err)
		return []byte(`{"keys":[]}`)
	}
	return out
}

// saveLocked writes the set to disk atomically; k.mu must be held (or the
// set not yet shared).
func (k *KeySet) saveLocked() error {
	f := keyFile{Version: 1, Current: encodeEntry(k.current), Next: encodeEntry(k.next)}
	for _, r := range k.retired {
		f.Retired = append(f.Retired, encodeEntry(r))
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("lti: save key set: %w", err)
	}
	if err := writeFileAtomic(k.dir, keyFileName, data); err != nil {
		return fmt.Errorf("lti: save key set: %w", err)
	}
	return nil
}

func encodeEntry(key *ownKey) keyFileEntry {
	der, err := x509.MarshalPKCS8PrivateKey(key.priv)
	if err != nil { // cannot happen for a valid RSA key
		panic(fmt.Sprintf("lti: marshal key %s: %v", key.kid, err))
	}
	return keyFileEntry{
		KID:       key.kid,
		Created:   key.created,
		Activated: key.activated,
		Retired:   key.retired,
		PEM:       string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}
}

// writeFileAtomic writes dir/name through a temporary file in dir that is
// synced and renamed over the target, then syncs dir.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
