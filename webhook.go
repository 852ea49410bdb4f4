package erasured

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The events a webhook may subscribe to: what happens to an erasure request that a
// service, or whoever follows the requests, would act on.
const (
	EventCreated   = "erasure_request.created"
	EventCompleted = "erasure_request.completed"
	EventOverdue   = "erasure_request.overdue"
	EventCancelled = "erasure_request.cancelled"
)

// WebhookEvents lists every event, in the order messages present them.
var WebhookEvents = []string{EventCreated, EventCompleted, EventOverdue, EventCancelled}

// Webhook is an endpoint of a store's that is told, by a signed HTTP POST (Standard
// Webhooks), of the events it subscribes to.
type Webhook struct {
	ID      string
	StoreID string
	URL     string
	Events  []string
	// Service, when set, scopes the webhook to the requests that require that service.
	Service *string
	Active  bool
	// Secret signs every delivery: "whsec_" and the base64 of 32 random bytes.
	Secret string
	// SecretShown says the representation shows Secret: only the answer to the POST
	// that made the webhook does.
	SecretShown bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// SucceededAt is when a delivery to it last succeeded, to the minute (see
	// Attempted); nil before the first.
	SucceededAt *time.Time
	// Version grows by one with every change; it is the ETag.
	Version int64
}

// maxWebhookURL bounds a webhook's URL, in bytes.
const maxWebhookURL = 2048

// Webhooks declares the webhook type. The secret is shown once, in the answer to the
// POST; afterwards it reads null.
var Webhooks = NewType("webhook",
	Getter(Attribute{Name: "id", Column: "id", Kind: UUID{}}, func(w *Webhook) any { return w.ID }),
	[]Field[Webhook]{
		Ref(Attribute{Name: "url", Column: "url", Kind: webhookURL{}, Access: Read | Create | Required | Patch},
			func(w *Webhook) *string { return &w.URL }),
		Ref(Attribute{Name: "events", Column: "events", Kind: webhookEvents{}, Access: Read | Create | Required | Patch},
			func(w *Webhook) *[]string { return &w.Events }),
		Ref(Attribute{Name: "service", Column: "service", Kind: serviceName, Nullable: true,
			Access: Read | Create | Patch, Filter: FilterExact},
			func(w *Webhook) **string { return &w.Service }),
		Ref(Attribute{Name: "active", Column: "active", Kind: Bool{}, Access: Read | Create | Patch, Filter: FilterExact},
			func(w *Webhook) *bool { return &w.Active }),
		Getter(Attribute{Name: "secret", Kind: String{}, Nullable: true, Access: Read}, func(w *Webhook) any {
			if !w.SecretShown {
				return nil
			}
			return w.Secret
		}),
		Ref(Attribute{Name: "created_at", Column: "created_at", Kind: Timestamp{}, Access: Read | Sortable, Filter: FilterOrdered},
			func(w *Webhook) *time.Time { return &w.CreatedAt }),
		Ref(Attribute{Name: "updated_at", Column: "updated_at", Kind: Timestamp{}, Access: Read},
			func(w *Webhook) *time.Time { return &w.UpdatedAt }),
	},
	[]Sort{{Attribute: "created_at"}})

// webhookURL is the kind of a webhook's URL: an absolute http or https URL with a host,
// without credentials or a fragment, of at most 2048 bytes. Its values are strings.
// Which schemes and addresses a server accepts is its own policy (package egress).
type webhookURL struct{}

var errWebhookURL = errors.New("must be an absolute https URL with a host, without credentials or a fragment, of at most 2048 bytes")

func (k webhookURL) Decode(raw json.RawMessage) (any, error) {
	s, err := jsonString(raw, func() error { return errWebhookURL })
	if err != nil {
		return nil, err
	}
	if len(s) > maxWebhookURL || !Text(s) {
		return nil, errWebhookURL
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil ||
		u.Fragment != "" || strings.ContainsAny(s, " \t\r\n") {
		return nil, errWebhookURL
	}
	return s, nil
}

func (webhookURL) Parse(string) (any, error) { return nil, errors.New("cannot be written as text") }

// webhookEvents is the kind of a webhook's events: 1 to 4 distinct names of
// WebhookEvents. Its values are []string.
type webhookEvents struct{}

var errWebhookEvents = fmt.Errorf("must be an array of one or more distinct events of %s", strings.Join(WebhookEvents, ", "))

func (webhookEvents) Decode(raw json.RawMessage) (any, error) {
	var list []string
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return nil, errWebhookEvents
	}
	for i, e := range list {
		if !slices.Contains(WebhookEvents, e) || slices.Contains(list[:i], e) {
			return nil, errWebhookEvents
		}
	}
	return list, nil
}

func (webhookEvents) Parse(string) (any, error) { return nil, errors.New("cannot be written as text") }

// NewWebhook returns the webhook that a client creates in store storeID with in, the
// values Webhooks.Decode read for Create: active unless in says otherwise, with a new
// secret, which its representation shows this once.
func NewWebhook(storeID string, in Values, now time.Time) *Webhook {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	w := &Webhook{
		ID:          NewID(),
		StoreID:     storeID,
		Active:      true,
		Secret:      "whsec_" + base64.StdEncoding.EncodeToString(secret),
		SecretShown: true,
		CreatedAt:   now,
		UpdatedAt:   now,
		Version:     1,
	}
	Webhooks.Set(w, in)
	return w
}

// Apply changes w as in, the values Webhooks.Decode read for Patch, say, and stamps
// UpdatedAt. The caller bumps Version when it stores w.
func (w *Webhook) Apply(in Values, now time.Time) {
	Webhooks.Set(w, in)
	w.UpdatedAt = now
}

// Wants reports whether w is to be told of event on r: it is active, subscribes to the
// event, and is scoped to no service or to one that r requires.
func (w *Webhook) Wants(event string, r *ErasureRequest) bool {
	return w.Active && slices.Contains(w.Events, event) &&
		(w.Service == nil || slices.Contains(r.ServicesRequired, *w.Service))
}

// successGrain is how precisely a webhook remembers its last success: to the minute,
// which spares its row a write per delivery and is nothing beside a retry period of days.
const successGrain = time.Minute

// Attempted records what the attempt of d at now, just recorded in d, means for w, and
// reports whether w changed. A success is remembered. A delivery that has failed for
// good, retried for the whole retry period, with no success of w's since its event, means
// that every delivery to w has failed for that long: w turns inactive, since its
// receiver is evidently gone, and nothing more is sent to it until a client makes it
// active again.
func (w *Webhook) Attempted(d *WebhookDelivery, now time.Time) bool {
	switch {
	case d.Status == DeliverySucceeded && (w.SucceededAt == nil || now.Sub(*w.SucceededAt) >= successGrain):
		w.SucceededAt = &now
	case d.Status == DeliveryFailed && w.Active && (w.SucceededAt == nil || w.SucceededAt.Before(d.CreatedAt)):
		w.Active = false
		w.Version++
		w.UpdatedAt = now
	default:
		return false
	}
	return true
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event to be delivered to one webhook (made from its
// Announcement), sent until the receiver answers 2xx or the retry period ends. Its ID is the webhook-id of every
// attempt, so that a receiver can tell a repeat from a new event.
type WebhookDelivery struct {
	ID               string
	StoreID          string
	WebhookID        string
	Event            string
	ErasureRequestID string
	// EventID names the announcement of the event, which every webhook told of it
	// shares: Payload, the body of every attempt, as it was when the event happened.
	EventID        string
	Payload        []byte
	Status         string
	Attempts       int
	LastStatusCode *int
	LastError      *string
	// NextAttemptAt is when the delivery is next due; nil once it succeeded or failed.
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// maxDeliveryError bounds what a delivery keeps of why an attempt failed, in characters.
const maxDeliveryError = 500

// WebhookDeliveries declares the webhook_delivery type: what was and is to be delivered
// to a webhook, which clients only read, through their webhook, newest first.
var WebhookDeliveries = NewType("webhook_delivery",
	Getter(Attribute{Name: "id", Column: "id", Kind: UUID{}}, func(d *WebhookDelivery) any { return d.ID }),
	[]Field[WebhookDelivery]{
		Held(Attribute{Name: "event", Column: "event", Kind: Enum(WebhookEvents), Access: Read, Filter: FilterExact},
			func(d *WebhookDelivery) *string { return &d.Event }),
		Held(Attribute{Name: "erasure_request_id", Column: "erasure_request_id", Kind: UUID{}, Access: Read, Filter: FilterExact},
			func(d *WebhookDelivery) *string { return &d.ErasureRequestID }),
		Held(Attribute{Name: "status", Column: "status", Kind: Enum{DeliveryPending, DeliverySucceeded, DeliveryFailed},
			Access: Read, Filter: FilterExact},
			func(d *WebhookDelivery) *string { return &d.Status }),
		Held(Attribute{Name: "attempts", Column: "attempts", Kind: Number{}, Access: Read},
			func(d *WebhookDelivery) *int { return &d.Attempts }),
		Held(Attribute{Name: "last_status_code", Column: "last_status_code", Kind: Number{}, Nullable: true, Access: Read},
			func(d *WebhookDelivery) **int { return &d.LastStatusCode }),
		Held(Attribute{Name: "last_error", Column: "last_error", Kind: String{Max: maxDeliveryError}, Nullable: true, Access: Read},
			func(d *WebhookDelivery) **string { return &d.LastError }),
		Held(Attribute{Name: "next_attempt_at", Column: "next_attempt_at", Kind: Timestamp{}, Nullable: true, Access: Read},
			func(d *WebhookDelivery) **time.Time { return &d.NextAttemptAt }),
		Held(Attribute{Name: "created_at", Column: "created_at", Kind: Timestamp{}, Access: Read | Sortable, Filter: FilterOrdered},
			func(d *WebhookDelivery) *time.Time { return &d.CreatedAt }),
	},
	[]Sort{{Attribute: "created_at", Desc: true}})

// Announcement is an event on an erasure request that webhooks are to be told of: the
// outbox's row, written in the transaction of the change, once however many webhooks
// want it. Each of WebhookIDs then gets a delivery of its own (Deliveries), made by a
// worker, so that the change pays for one row, not one per webhook.
type Announcement struct {
	ID               string
	StoreID          string
	Event            string
	ErasureRequestID string
	// WebhookIDs are the webhooks that wanted the event when it happened (see Wants).
	WebhookIDs []string
	// Payload is the body of every attempt of every delivery: r as it was then, as a
	// JSON:API resource object under the Standard Webhooks envelope
	// {"type","timestamp","data"}.
	Payload   []byte
	CreatedAt time.Time
}

// Announce returns the announcement of event on r at now to those of hooks that want
// it, or nil when none does.
func Announce(event string, r *ErasureRequest, hooks []*Webhook, now time.Time) (*Announcement, error) {
	var ids []string
	for _, h := range hooks {
		if h.Wants(event, r) {
			ids = append(ids, h.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	payload, err := announcement(event, r, now)
	if err != nil {
		return nil, err
	}
	return &Announcement{ID: newDeliveryID(), StoreID: r.StoreID, Event: event, ErasureRequestID: r.ID,
		WebhookIDs: ids, Payload: payload, CreatedAt: now}, nil
}

// Deliveries returns a's deliveries to webhookIDs (those of a.WebhookIDs that still
// exist), due at now. Each counts its retry period from the event.
func (a *Announcement) Deliveries(webhookIDs []string, now time.Time) []*WebhookDelivery {
	out := make([]*WebhookDelivery, len(webhookIDs))
	for i, id := range webhookIDs {
		out[i] = &WebhookDelivery{
			ID: newDeliveryID(), StoreID: a.StoreID, WebhookID: id, Event: a.Event, ErasureRequestID: a.ErasureRequestID,
			EventID: a.ID, Payload: a.Payload, Status: DeliveryPending, NextAttemptAt: &now, CreatedAt: a.CreatedAt, UpdatedAt: now,
		}
	}
	return out
}

// newDeliveryID returns a new delivery's id: a UUID of version 7, which begins with the
// time, so that the outbox's primary key grows at its end as the deliveries are written
// rather than in a random page each, as a version 4 UUID would make it.
func newDeliveryID() string {
	id, err := uuid.NewV7()
	if err != nil { // only when the system's random source fails
		return NewID()
	}
	return id.String()
}

// announcement is the body that tells of event on r at now.
func announcement(event string, r *ErasureRequest, now time.Time) ([]byte, error) {
	attributes := map[string]any{}
	for name, v := range ErasureRequests.Read(r) {
		attributes[name] = v
	}
	type resource struct {
		Type       string         `json:"type"`
		ID         string         `json:"id"`
		Attributes map[string]any `json:"attributes"`
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      resource  `json:"data"`
	}{event, now, resource{ErasureRequests.Name, r.ID, attributes}})
	if err != nil {
		return nil, fmt.Errorf("webhook payload: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// The retry schedule: the first retry comes after about RetryBase, each later one after
// four times the one before, up to MaxRetryDelay; with the default base that is 5 s, 20 s,
// 80 s, 5 min, 21 min, 85 min, 5.7 h, 22.8 h, then a day, close to the schedule the
// Standard Webhooks specification suggests.
const (
	RetryBase     = 5 * time.Second
	MaxRetryDelay = 24 * time.Hour
)

// RetryDelay is the wait before the retry that follows attempt number attempts (1 for the
// first attempt), from base: base·4^(attempts-1), at most MaxRetryDelay, of which the
// latter half is scaled by jitter (from 0 to 1), so that deliveries that failed together
// do not all come back together.
func RetryDelay(attempts int, base time.Duration, jitter float64) time.Duration {
	d := base
	for i := 1; i < attempts && d < MaxRetryDelay; i++ {
		d *= 4
	}
	d = min(d, MaxRetryDelay)
	return d/2 + time.Duration(float64(d/2)*min(max(jitter, 0), 1))
}

// Succeeded records an attempt that the receiver answered with status, a 2xx.
func (d *WebhookDelivery) Succeeded(status int, now time.Time) {
	d.Attempts++
	d.Status, d.LastStatusCode, d.LastError, d.NextAttemptAt, d.UpdatedAt = DeliverySucceeded, &status, nil, nil, now
}

// Failed records an attempt that failed: the receiver answered status (nil when there
// was no answer) or the attempt failed for reason. The delivery is due again after
// RetryDelay, unless that falls past retryFor after the event: then it has failed for
// good.
func (d *WebhookDelivery) Failed(status *int, reason string, now time.Time, retryFor, base time.Duration, jitter float64) {
	d.Attempts++
	reason = strings.ToValidUTF8(strings.ReplaceAll(reason, "\x00", ""), "\uFFFD")
	if r := []rune(reason); len(r) > maxDeliveryError {
		reason = string(r[:maxDeliveryError-1]) + "…"
	}
	d.LastStatusCode, d.LastError, d.UpdatedAt = status, &reason, now
	next := now.Add(RetryDelay(d.Attempts, base, jitter))
	if next.After(d.CreatedAt.Add(retryFor)) {
		d.Status, d.NextAttemptAt = DeliveryFailed, nil
		return
	}
	d.NextAttemptAt = &next
}

// Abandon gives up the delivery without an attempt, for reason: its webhook is no
// longer active.
func (d *WebhookDelivery) Abandon(reason string, now time.Time) {
	d.Status, d.LastError, d.NextAttemptAt, d.UpdatedAt = DeliveryFailed, &reason, nil, now
}
