package requests

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Target is where an institution hears of requests.
type Target struct {
	// URL is the absolute http(s) URL deliveries are POSTed to.
	URL string
	// Secret keys the HMAC-SHA256 signature of each webhook body; "" sends
	// no signature header. ISO 18626 messages are not signed.
	Secret []byte
	// ISO18626 sends ISO 18626 XML messages (see ISO18626Message) instead
	// of webhook JSON; a delivery is acknowledged by a confirmation whose
	// messageStatus is OK.
	ISO18626 bool
}

// PermanentError is a failed delivery that will never succeed as it is (an
// ISO 18626 receiver answered ERROR to the message, or no message expresses
// it): the deliverer marks it failed in the outbox and does not retry it.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Doer sends an HTTP request (an *http.Client does).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// DelivererConfig configures a Deliverer. The zero value of each field is
// usable except Outbox.
type DelivererConfig struct {
	Outbox Outbox
	// Targets maps an institution id to its webhook. A delivery to an
	// institution without one is dropped with a warning (its webhook was
	// removed from the configuration since it was queued).
	Targets map[string]Target
	// Client sends the POSTs; nil means an http.Client with a 10 s timeout.
	Client Doer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MinBackoff is the wait after the first failure, doubled after each
	// further one (1s when 0); MaxBackoff caps it (5m when 0).
	MinBackoff, MaxBackoff time.Duration
}

// Deliverer drains the outbox: it POSTs each delivery to its institution's
// webhook and removes it once the receiver answers 2xx (for an ISO 18626
// endpoint: 2xx with an OK confirmation); any other answer, or none, is
// retried with exponential backoff, except a permanent failure (an ISO 18626
// ERROR confirmation), which stays in the outbox marked failed with its
// error and is not retried. A delivery's id is sent with every attempt, so
// a receiver that saw it already can ignore it.
type Deliverer struct {
	log *slog.Logger
	cfg DelivererConfig
}

// Header names of a delivery.
const (
	HeaderSignature = "X-Commonshelf-Signature"
	HeaderDelivery  = "X-Commonshelf-Delivery"
)

// NewDeliverer builds a Deliverer.
func NewDeliverer(logger *slog.Logger, cfg DelivererConfig) *Deliverer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	return &Deliverer{log: logger, cfg: cfg}
}

// Backoff is the wait after attempt number attempts (1-based) failed.
func (d *Deliverer) Backoff(attempts int) time.Duration {
	w := d.cfg.MinBackoff
	for i := 1; i < attempts && w < d.cfg.MaxBackoff; i++ {
		w *= 2
	}
	return min(w, d.cfg.MaxBackoff)
}

// Payload is the JSON body of a delivery.
type Payload struct {
	DeliveryID string   `json:"delivery_id"`
	Event      string   `json:"event"`
	Request    *Request `json:"request"`
}

// Sign returns the signature header value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// batch bounds the deliveries read from the outbox at once.
const batch = 200

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	for {
		wait, err := d.RunOnce(ctx)
		if err != nil {
			d.log.Error("request deliveries: outbox unreadable; retrying in a minute", "err", err)
			wait = time.Minute
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.cfg.Outbox.Queued():
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce attempts the deliveries that are due and returns how long until
// the next one is (an hour when none is queued). Deliveries to one
// institution go in the order they were queued: while the first is waiting
// for a retry, the ones behind it wait too, so a receiver never sees a
// status change before the request it changes. Other institutions are not
// held back.
func (d *Deliverer) RunOnce(ctx context.Context) (time.Duration, error) {
	next := time.Hour
	blocked := map[string]bool{}
	for after := ""; ; {
		pending, err := d.cfg.Outbox.Pending(ctx, after, batch)
		if err != nil {
			return 0, err
		}
		for _, dl := range pending {
			if ctx.Err() != nil {
				return 0, nil
			}
			if dl.Failed || blocked[dl.Institution] {
				continue
			}
			if wait := dl.NextAt.Sub(d.cfg.Now()); wait > 0 {
				blocked[dl.Institution] = true
				next = min(next, wait)
				continue
			}
			if err := d.attempt(ctx, dl); err != nil {
				dl.Attempts++
				if perr := (*PermanentError)(nil); errors.As(err, &perr) {
					// Later deliveries to the institution go on: this one
					// would hold them back for ever.
					d.log.Error("request delivery failed permanently; kept in the outbox as failed, not retried", "delivery", dl.ID,
						"institution", dl.Institution, "event", dl.Event, "attempts", dl.Attempts, "err", err)
					if ferr := d.cfg.Outbox.Fail(ctx, dl.ID, dl.Attempts, err.Error()); ferr != nil {
						return 0, ferr
					}
					continue
				}
				blocked[dl.Institution] = true
				wait := d.Backoff(dl.Attempts)
				next = min(next, wait)
				d.log.Warn("request delivery failed; will retry", "delivery", dl.ID, "institution", dl.Institution,
					"attempts", dl.Attempts, "retry_in", wait.String(), "err", err)
				if rerr := d.cfg.Outbox.Reschedule(ctx, dl.ID, dl.Attempts, d.cfg.Now().Add(wait), err.Error()); rerr != nil {
					return 0, rerr
				}
				continue
			}
			if err := d.cfg.Outbox.Ack(ctx, dl.ID); err != nil {
				return 0, err
			}
		}
		if len(pending) < batch {
			return next, nil
		}
		after = pending[len(pending)-1].ID
	}
}

// attempt POSTs one delivery; nil means the receiver acknowledged it (or
// it has nowhere to go).
func (d *Deliverer) attempt(ctx context.Context, dl Delivery) error {
	t, ok := d.cfg.Targets[dl.Institution]
	if !ok {
		d.log.Warn("request delivery dropped: the institution has no webhook configured", "delivery", dl.ID, "institution", dl.Institution)
		return nil
	}
	if t.ISO18626 {
		return d.attemptISO18626(ctx, t, dl)
	}
	body, err := json.Marshal(Payload{DeliveryID: dl.ID, Event: dl.Event, Request: dl.Request})
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Commonshelf-Webhook/1")
	req.Header.Set(HeaderDelivery, dl.ID)
	if len(t.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(t.Secret, body))
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// attemptISO18626 POSTs one delivery as an ISO 18626 message; nil means the
// receiver confirmed it with messageStatus OK.
func (d *Deliverer) attemptISO18626(ctx context.Context, t Target, dl Delivery) error {
	body, name, err := ISO18626Message(dl)
	if err != nil {
		return &PermanentError{err}
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("User-Agent", "Commonshelf-ISO18626/1")
	req.Header.Set(HeaderDelivery, dl.ID)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	if err != nil {
		return fmt.Errorf("reading the receiver's answer: %w", err)
	}
	c, err := ParseISO18626Confirmation(answer)
	if err != nil {
		return err
	}
	if want := name + "Confirmation"; c.Name != want {
		return fmt.Errorf("the receiver answered a %s to a %s", c.Name, name)
	}
	switch c.Status {
	case "OK":
		return nil
	case "ERROR":
		return &PermanentError{fmt.Errorf("the receiver rejected the %s: ERROR %s %q", name, c.ErrorType, c.ErrorValue)}
	}
	return fmt.Errorf("the receiver's %s has messageStatus %q, not OK or ERROR", c.Name, c.Status)
}
