package lti

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// errUnknownKID is returned when a kid is not in a (fresh) JWKS.
var errUnknownKID = errors.New("kid not in the platform's JWKS")

// jwksCache fetches and caches platform JWKS, one entry per JWKS URL (so it
// is bounded by the configured platforms).
//
// A JWKS is used for maxAge after a successful fetch. An unknown kid causes
// one refetch; further unknown kids refetch at most once per refetchEvery, so
// a flood of tokens with made-up kids cannot hammer the platform. A failed
// fetch is not retried for refetchEvery either; meanwhile the last good keys,
// if any, go on being used. Concurrent fetches of one URL are collapsed.
type jwksCache struct {
	logger       *slog.Logger
	client       *http.Client
	now          func() time.Time
	maxAge       time.Duration
	refetchEvery time.Duration

	group singleflight.Group

	mu      sync.Mutex
	entries map[string]*jwksEntry
}

type jwksEntry struct {
	keys      map[string]*rsa.PublicKey // nil until the first successful fetch
	fetched   time.Time                 // last successful fetch
	lastMiss  time.Time                 // last refetch caused by an unknown kid
	failed    time.Time                 // last failed fetch, zero after a success
	lastError error
}

func newJWKSCache(logger *slog.Logger, client *http.Client, now func() time.Time, maxAge, refetchEvery time.Duration) *jwksCache {
	return &jwksCache{
		logger:       logger,
		client:       client,
		now:          now,
		maxAge:       maxAge,
		refetchEvery: refetchEvery,
		entries:      make(map[string]*jwksEntry),
	}
}

// key returns the RSA public key with kid from the JWKS at url.
func (c *jwksCache) key(ctx context.Context, url, kid string) (*rsa.PublicKey, error) {
	c.mu.Lock()
	e := c.entries[url]
	if e == nil {
		e = &jwksEntry{}
		c.entries[url] = e
	}
	now := c.now()
	k, known := e.keys[kid]
	fresh := e.keys != nil && now.Sub(e.fetched) < c.maxAge
	switch {
	case known && fresh:
		c.mu.Unlock()
		return k, nil
	case !e.failed.IsZero() && now.Sub(e.failed) < c.refetchEvery:
		// The last fetch failed recently: do not retry yet.
		err := e.lastError
		c.mu.Unlock()
		if known {
			return k, nil
		}
		if e.keys != nil {
			return nil, errUnknownKID
		}
		return nil, err
	case fresh: // unknown kid in a fresh set
		if !e.lastMiss.IsZero() && now.Sub(e.lastMiss) < c.refetchEvery {
			c.mu.Unlock()
			return nil, errUnknownKID
		}
		e.lastMiss = now
	}
	c.mu.Unlock()

	ch := c.group.DoChan(url, func() (any, error) {
		// The fetch is shared: it must not be cancelled by the first caller
		// going away. The client's timeout bounds it.
		return c.refresh(context.WithoutCancel(ctx), url)
	})
	var keys map[string]*rsa.PublicKey
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			if known {
				return k, nil // stale but the best we have
			}
			return nil, r.Err
		}
		keys = r.Val.(map[string]*rsa.PublicKey)
	}
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKID
}

// refresh fetches url and stores the result.
func (c *jwksCache) refresh(ctx context.Context, url string) (map[string]*rsa.PublicKey, error) {
	keys, err := c.fetch(ctx, url)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[url]
	if err != nil {
		e.failed, e.lastError = c.now(), err
		if e.keys != nil {
			c.logger.Warn("lti JWKS fetch failed; using the keys fetched before", "url", url, "fetched", e.fetched, "err", err)
		}
		return nil, err
	}
	e.keys, e.fetched, e.failed, e.lastError = keys, c.now(), time.Time{}, nil
	return keys, nil
}

func (c *jwksCache) fetch(ctx context.Context, url string) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("fetch JWKS %s: HTTP status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("fetch JWKS %s: larger than %d bytes", url, maxJWKSSize)
	}
	keys, skipped, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	if skipped > 0 {
		c.logger.Debug("lti JWKS keys skipped (not RSA signing keys of at least 2048 bits, or without kid)", "url", url, "skipped", skipped)
	}
	return keys, nil
}

// parseJWKS keeps the RSA signature keys (use "sig" or absent, alg RS256 or
// absent, at least minRSABits) that have a kid. A key the JSON decoder does
// not understand is skipped rather than failing the whole set.
func parseJWKS(body []byte) (keys map[string]*rsa.PublicKey, skipped int, err error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, 0, fmt.Errorf("decode: %w", err)
	}
	if raw.Keys == nil {
		return nil, 0, errors.New(`no "keys" array`)
	}
	keys = make(map[string]*rsa.PublicKey)
	for _, r := range raw.Keys {
		if len(keys) == maxJWKSKeys {
			skipped++
			continue
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			skipped++
			continue
		}
		pub, ok := k.Key.(*rsa.PublicKey)
		if !ok || k.KeyID == "" || (k.Use != "" && k.Use != "sig") ||
			(k.Algorithm != "" && k.Algorithm != string(jose.RS256)) || pub.N.BitLen() < minRSABits {
			skipped++
			continue
		}
		keys[k.KeyID] = pub
	}
	return keys, skipped, nil
}
