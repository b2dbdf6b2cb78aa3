// Package webhook delivers the webhook deliveries of the store's outbox
// (DESIGN §12): it signs each one as the Standard Webhooks specification
// says, posts it to the webhook's URL through a dialer that refuses
// private addresses (unless allowed) after DNS resolution, records every
// attempt in the delivery log and retries failures with exponential
// backoff until a 2xx answer or MaxAttempts. Delivery is at least once:
// a delivery whose answer could not be recorded (the process killed
// between the two) is posted again, with the same webhook-id.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"invited/db"
	"invited/internal/wake"
)

// Sign returns the value of the webhook-signature header for a message:
// "v1," and the base64 of the HMAC-SHA256, keyed with the secret's
// decoded bytes (after "whsec_"), of "id.timestamp.body".
func Sign(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("the webhook secret is not base64 after whsec_: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598):
// not on the public internet, so refused like the private ranges.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// nat64 is the well-known NAT64 prefix (RFC 6052): its last 32 bits are an
// IPv4 address, which a NAT64 gateway would reach, so that address is
// judged instead.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// refusedReason says why ip may not be dialled without allow_private, or
// "" when it may: loopback, private (RFC 1918, ULA fc00::/7), link-local,
// unspecified, multicast, CGNAT, and 0.0.0.0/8 and broadcast, also when
// written as an IPv4-mapped or NAT64 IPv6 address.
func refusedReason(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case cgnat.Contains(ip):
		return "a carrier-grade NAT address (100.64.0.0/10)"
	case ip.Is4() && (ip.As4()[0] == 0 || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})):
		return "not a host address"
	}
	return ""
}

// PrivateAddressError is the error of a delivery refused by the
// private-address rule.
type PrivateAddressError struct{ IP netip.Addr }

func (e *PrivateAddressError) Error() string {
	return fmt.Sprintf("refused to connect to %s: it is %s (set webhooks.allow_private = true to allow it)", e.IP, refusedReason(e.IP))
}

// control checks the address about to be dialled, after DNS resolution:
// whatever the name resolved to, and however often it is resolved again,
// the connection is only made to an address that passes.
func control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: not an IP address", host)
	}
	if refusedReason(ip) != "" {
		return &PrivateAddressError{IP: ip.Unmap()}
	}
	return nil
}

// NewClient returns the HTTP client deliveries go out with: no proxy from
// the environment (the proxy's address would be checked, not the
// target's), no redirects followed (a 3xx is a failed attempt), and with
// allowPrivate false a dialer that refuses private addresses.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = control
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy: nil, DialContext: dialer.DialContext, ForceAttemptHTTP2: true,
			MaxIdleConns: 10, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Options tune a Worker; zero values take the defaults.
type Options struct {
	MaxAttempts int           // after this many failed attempts a delivery fails; 0 → 10
	BaseDelay   time.Duration // first retry delay, doubled each attempt; 0 → 10s
	MaxDelay    time.Duration // cap on the delay; 0 → 1h
	Poll        time.Duration // how often it looks for due deliveries without a Poke; 0 → 5s
	Timeout     time.Duration // cap on one attempt; 0 → 15s
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (webhooks.allow_private).
	AllowPrivate bool
	Now          func() time.Time
	// Render makes a delivery's body; it must give the same bytes for the
	// same delivery on every attempt.
	Render func(db.WebhookDelivery) ([]byte, error)
	// UserAgent is sent with every delivery.
	UserAgent string
}

// batch is how many due deliveries one look at the store takes.
const batch = 50

// Worker posts the store's due webhook deliveries.
type Worker struct {
	store  *db.Store
	log    *slog.Logger
	opts   Options
	client *http.Client
	loop   *wake.Loop
}

// New returns a worker; nothing runs until Run.
func New(store *db.Store, log *slog.Logger, opts Options) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = 10 * time.Second
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Hour
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "invited-webhooks"
	}
	return &Worker{store: store, log: log, opts: opts, client: NewClient(opts.AllowPrivate, opts.Timeout), loop: wake.New("webhooks", log)}
}

// Poke wakes the worker now, after a change may have queued a delivery.
// It never blocks.
func (w *Worker) Poke() { w.loop.Poke() }

// Run delivers due deliveries until ctx ends; call it once. A delivery in
// flight when ctx ends is not recorded and stays due for the next start.
func (w *Worker) Run(ctx context.Context) { w.loop.Run(ctx, w.pass) }

// pass posts every due delivery and returns how long to wait before the
// next pass.
func (w *Worker) pass(ctx context.Context) time.Duration {
	for {
		due, err := w.store.DueWebhookDeliveries(w.opts.Now(), batch)
		if err != nil {
			w.log.Error("webhooks: reading due deliveries failed", "error", err)
			return w.opts.Poll
		}
		for _, d := range due {
			if ctx.Err() != nil {
				return 0
			}
			if !w.attempt(ctx, d) {
				return w.opts.Poll
			}
		}
		if len(due) < batch {
			break
		}
	}
	next, ok, err := w.store.NextWebhookDue()
	if err != nil || !ok {
		return w.opts.Poll
	}
	return min(max(next.Sub(w.opts.Now()), 0), w.opts.Poll)
}

// attempt posts one delivery and records the outcome; it returns false
// when the store failed.
func (w *Worker) attempt(ctx context.Context, d db.WebhookDelivery) bool {
	body, err := w.opts.Render(d)
	if err != nil {
		w.log.Error("webhooks: rendering a delivery failed", "delivery_id", d.ID, "error", err)
		return false
	}
	start := w.opts.Now()
	status, err := w.post(ctx, d, body, start)
	if err != nil && ctx.Err() != nil {
		w.log.Info("webhooks: shutting down; the delivery in flight stays pending", "delivery_id", d.ID)
		return true
	}
	a := db.WebhookAttempt{At: start, Duration: w.opts.Now().Sub(start), StatusCode: status}
	if err != nil {
		a.Error = err.Error()
	} else if status < 200 || status > 299 {
		a.Error = "the receiver answered " + strconv.Itoa(status) + " " + http.StatusText(status)
	}
	n := len(d.Attempts) + 1
	final := n >= w.opts.MaxAttempts
	next := w.opts.Now().Add(w.backoff(len(d.Attempts)))
	switch {
	case a.Error == "":
		w.log.Info("webhook delivered", "delivery_id", d.ID, "webhook_id", d.WebhookID, "event", d.Event, "attempt", n, "status", status)
	case final:
		w.log.Error("webhook delivery failed for good", "delivery_id", d.ID, "webhook_id", d.WebhookID, "attempt", n, "error", a.Error)
	default:
		w.log.Warn("webhook attempt failed; will retry", "delivery_id", d.ID, "webhook_id", d.WebhookID, "attempt", n,
			"next_attempt", next, "error", a.Error)
	}
	if err := w.store.RecordWebhookAttempt(d.ID, a, next, final); err != nil && db.ErrorCode(err) != db.ENOTFOUND {
		w.log.Error("webhooks: recording an attempt failed", "delivery_id", d.ID, "error", err)
		return false
	}
	return true
}

// post sends the signed request and returns the answer's status code.
func (w *Worker) post(ctx context.Context, d db.WebhookDelivery, body []byte, at time.Time) (int, error) {
	ts := at.Unix()
	sig, err := Sign(d.Secret, d.MessageID, ts, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("the webhook URL cannot be used: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.opts.UserAgent)
	req.Header.Set("webhook-id", d.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.client.Do(req)
	if err != nil {
		var refused *PrivateAddressError
		if errors.As(err, &refused) {
			return 0, refused
		}
		return 0, scrub(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// scrub drops the "Post "URL": " prefix of a client error: the URL may
// carry a token in its query, and the log shows the delivery's webhook.
func scrub(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// backoff is the delay after the failure of attempt number attempts+1:
// BaseDelay × 2^attempts, capped at MaxDelay, plus up to 10% jitter.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.opts.BaseDelay
	for i := 0; i < attempts && d < w.opts.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxDelay)
	return d + mathrand.N(d/10+1)
}
