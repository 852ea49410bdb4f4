package resources_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/egress"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
	"github.com/erasured/erasured/workers"
)

const webhooks = "/v2/webhooks"

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint of the test's own, on loopback: it keeps every request
// it gets and answers them with answers in turn, then 204.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	answers []int
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	t.Helper()
	rc := &receiver{answers: answers}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		status := http.StatusNoContent
		if len(rc.answers) > 0 {
			status, rc.answers = rc.answers[0], rc.answers[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// verify checks a delivery by the Standard Webhooks scheme, written out here rather
// than taken from the library that signs: the HMAC-SHA256 of "id.timestamp.body" under
// the key the secret holds, base64, after "v1,", among the header's signatures, and a
// timestamp within five minutes.
func verify(t *testing.T, secret string, r received) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q: %v", secret, err)
	}
	id, ts := r.header.Get("webhook-id"), r.header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(r.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ok := false
	for _, sig := range strings.Fields(r.header.Get("webhook-signature")) {
		ok = ok || hmac.Equal([]byte(sig), []byte(want))
	}
	if !ok {
		t.Errorf("webhook-signature %q does not verify (want %s)", r.header.Get("webhook-signature"), want)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Errorf("webhook-timestamp %q", ts)
	}
}

// insecure is the configuration of a server whose webhooks may call the test's
// receivers, which listen on loopback.
var insecure = resources.Config{Webhooks: egress.Policy{AllowInsecure: true}}

// deliverer is the webhook worker as a server runs it, but that retries after a
// millisecond or two instead of seconds.
func deliverer(db *storage.DB, retryFor time.Duration) *workers.Webhooks {
	return &workers.Webhooks{DB: db, Client: insecure.Webhooks.Client(), Lease: time.Minute, Poll: time.Second,
		RetryFor: retryFor, Backoff: time.Millisecond}
}

// deliverUntil runs w round after round until cond holds, failing the test when it does
// not within 30 s.
func deliverUntil(t *testing.T, w *workers.Webhooks, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		worked, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		if !worked {
			time.Sleep(time.Millisecond) // the next retry is due in a millisecond or two
		}
	}
}

func newWebhook(u string, events []string, service any) map[string]any {
	a := map[string]any{"url": u, "events": events}
	if service != nil {
		a["service"] = service
	}
	return map[string]any{"data": map[string]any{"type": "webhook", "attributes": a}}
}

// deliveries lists the deliveries of webhook id, newest first.
func (e *env) deliveries(token, id string, query ...string) []map[string]any {
	e.t.Helper()
	path := webhooks + "/" + id + "/deliveries"
	if len(query) > 0 {
		path += "?" + query[0]
	}
	r := e.do("GET", path, token, nil)
	if r.Status != http.StatusOK {
		e.t.Fatalf("deliveries: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, d := range r.Doc["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// A receiver that fails twice gets the same delivery three times, with the same
// webhook-id and body, each signed; once it has answered 2xx it gets nothing more, and
// the delivery's record says how it went.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db, insecure)
		ops := e.key("s1")
		rc := newReceiver(t, http.StatusInternalServerError, http.StatusServiceUnavailable)
		created := e.do("POST", webhooks, ops, newWebhook(rc.URL+"/erasures",
			[]string{erasured.EventCreated, erasured.EventCompleted}, nil)).want(t, http.StatusCreated)
		hook := created.data(t)
		hookID, secret := hook["id"].(string), attrs(hook)["secret"].(string)
		if created.Header.Get("Location") != e.url+webhooks+"/"+hookID || attrs(hook)["active"] != true {
			t.Errorf("Location %q, %v", created.Header.Get("Location"), hook)
		}
		if a := attrs(e.do("GET", webhooks+"/"+hookID, ops, nil).want(t, http.StatusOK).data(t)); a["secret"] != nil {
			t.Errorf("GET shows the secret: %v", a)
		}
		if a := attrs(e.do("GET", webhooks, ops, nil).want(t, http.StatusOK).list(t)[0]); a["secret"] != nil {
			t.Errorf("the list shows the secret: %v", a)
		}
		other := newReceiver(t)
		e.do("POST", webhooks, e.key("s2"), newWebhook(other.URL, []string{erasured.EventCreated}, nil)).want(t, http.StatusCreated)

		id := e.file(ops, "alice")
		if n := len(e.deliveries(ops, hookID)); n != 0 {
			t.Errorf("%d deliveries before the worker made them", n)
		}
		if n, err := db.FanOut(context.Background(), erasured.Now(), 10); err != nil || n != 1 {
			t.Fatalf("FanOut: %d, %v", n, err)
		}
		pending := e.deliveries(ops, hookID)
		if len(pending) != 1 || attrs(pending[0])["status"] != "pending" || attrs(pending[0])["attempts"] != 0.0 ||
			attrs(pending[0])["event"] != erasured.EventCreated || attrs(pending[0])["erasure_request_id"] != id {
			t.Fatalf("deliveries before the worker: %v", pending)
		}
		w := deliverer(db, time.Hour)
		deliverUntil(t, w, "a 2xx", func() bool { return len(rc.requests()) == 3 })
		runUntilIdle(t, w)
		got := rc.requests()
		if len(got) != 3 {
			t.Fatalf("%d requests after a 2xx, want 3", len(got))
		}
		for _, r := range got {
			verify(t, secret, r)
			if r.header.Get("webhook-id") != pending[0]["id"] || string(r.body) != string(got[0].body) {
				t.Errorf("webhook-id %q (want %v), body %s", r.header.Get("webhook-id"), pending[0]["id"], r.body)
			}
		}
		var payload struct {
			Type      string
			Timestamp time.Time
			Data      struct {
				Type, ID   string
				Attributes map[string]any
			}
		}
		if err := json.Unmarshal(got[0].body, &payload); err != nil || payload.Type != erasured.EventCreated ||
			payload.Data.Type != "erasure_request" || payload.Data.ID != id || payload.Data.Attributes["status"] != "CREATED" ||
			payload.Data.Attributes["resource_id"] != "alice" || payload.Timestamp.IsZero() {
			t.Errorf("payload %s (%v)", got[0].body, err)
		}
		done := attrs(e.deliveries(ops, hookID)[0])
		if done["status"] != "succeeded" || done["attempts"] != 3.0 || done["last_status_code"] != 204.0 ||
			done["last_error"] != nil || done["next_attempt_at"] != nil {
			t.Errorf("the delivery after its 2xx: %v", done)
		}

		// Its completion is announced; a cancellation, which it does not subscribe to,
		// would not be.
		e.report(ops, id, `{"status":"completed"}`).want(t, http.StatusOK)
		runUntilIdle(t, w)
		got = rc.requests()
		if len(got) != 4 || !strings.Contains(string(got[3].body), `"type":"erasure_request.completed"`) ||
			got[3].header.Get("webhook-id") == got[0].header.Get("webhook-id") {
			t.Errorf("after the completion: %d requests, last %s", len(got), got[len(got)-1].body)
		}
		verify(t, secret, got[3])
		if n := len(other.requests()); n != 0 {
			t.Errorf("another store's webhook got %d requests", n)
		}
		if list := e.deliveries(ops, hookID, "filter="+url.QueryEscape("eq(event,erasure_request.completed)")); len(list) != 1 {
			t.Errorf("completed deliveries %v", list)
		}
		e.do("GET", webhooks+"/"+hookID+"/deliveries", e.key("s2"), nil).wantError(t, http.StatusNotFound, "")
		e.do("GET", webhooks+"/not-a-webhook/deliveries", ops, nil).wantError(t, http.StatusNotFound, "")
	})
}

// A webhook scoped to a service hears only of the requests that require it.
func TestWebhookScopedToAService(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db, insecure)
		ops := e.key("s1")
		rc := newReceiver(t)
		hook := e.do("POST", webhooks, ops, newWebhook(rc.URL, []string{erasured.EventCreated}, "billing")).want(t, http.StatusCreated).data(t)
		e.file(ops, "before-billing")
		e.do("POST", services, ops, newService("billing")).want(t, http.StatusCreated)
		id := e.file(ops, "after-billing")
		runUntilIdle(t, deliverer(db, time.Hour))
		got := rc.requests()
		if len(got) != 1 || !strings.Contains(string(got[0].body), id) {
			t.Fatalf("the billing webhook got %d requests", len(got))
		}
		verify(t, attrs(hook)["secret"].(string), got[0])
	})
}

// Webhook URLs that the server must not call are refused when a client gives them, and
// again when a delivery would call one: no connection is ever made.
func TestWebhookURLsRefused(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		strict, lax := newEnv(t, db, resources.Config{}), newEnv(t, db, insecure)
		ops := strict.key("s1")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		local := "http://" + ln.Addr().String() + "/hook"
		for _, u := range []string{local, "https://" + ln.Addr().String() + "/", "https://[::1]/", "https://169.254.169.254/latest/meta-data/",
			"https://10.0.0.7/", "https://192.168.1.1/", "https://100.100.100.200/", "https://[fd00:ec2::254]/", "http://93.184.216.34/"} {
			strict.do("POST", webhooks, ops, newWebhook(u, []string{erasured.EventCreated}, nil)).wantError(t, http.StatusBadRequest, "/data/attributes/url")
		}
		for _, u := range []string{"https://10.0.0.7/", "http://93.184.216.34/", "https://[::ffff:169.254.169.254]/"} {
			lax.do("POST", webhooks, ops, newWebhook(u, []string{erasured.EventCreated}, nil)).wantError(t, http.StatusBadRequest, "/data/attributes/url")
		}
		for _, u := range []string{"ftp://example.com/", "/relative", "https://user:pw@example.com/", "https://example.com/#x", "not a url"} {
			strict.do("POST", webhooks, ops, newWebhook(u, []string{erasured.EventCreated}, nil)).wantError(t, http.StatusBadRequest, "/data/attributes/url")
		}
		strict.do("POST", webhooks, ops, newWebhook("https://93.184.216.34/", []string{"erasure_request.deleted"}, nil)).wantError(t, http.StatusBadRequest, "/data/attributes/events")
		strict.do("POST", webhooks, ops, newWebhook("https://93.184.216.34/", []string{}, nil)).wantError(t, http.StatusBadRequest, "/data/attributes/events")

		// Allowed where it was created, and refused by a process that does not allow
		// loopback: the delivery fails without connecting, and says why.
		hook := lax.do("POST", webhooks, ops, newWebhook(local, []string{erasured.EventCreated}, nil)).want(t, http.StatusCreated).data(t)
		hookID := hook["id"].(string)
		strict.do("PATCH", webhooks+"/"+hookID, ops, map[string]any{"data": map[string]any{"type": "webhook", "id": hookID,
			"attributes": map[string]any{"url": "https://169.254.169.254/"}}}).wantError(t, http.StatusBadRequest, "/data/attributes/url")
		strict.file(ops, "alice")
		w := &workers.Webhooks{DB: db, Client: egress.Policy{}.Client(), Lease: time.Minute, Poll: time.Second, RetryFor: time.Hour}
		if worked, err := w.RunOnce(context.Background()); err != nil || !worked {
			t.Fatalf("RunOnce: %v, %v", worked, err)
		}
		d := attrs(strict.deliveries(ops, hookID)[0])
		if msg, _ := d["last_error"].(string); d["status"] != "pending" || d["attempts"] != 1.0 || !strings.Contains(msg, "loopback") {
			t.Errorf("the refused delivery: %v", d)
		}
		if err := ln.(*net.TCPListener).SetDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if c, err := ln.Accept(); err == nil {
			c.Close()
			t.Error("a refused delivery connected")
		}
	})
}

// A receiver that never answers 2xx is retried for the retry period and no longer: the
// delivery then fails for good, and the webhook, none of whose deliveries succeeded all
// that time, turns inactive and is told of nothing more. The worker runs on a clock the
// test moves to each retry's time, so the machine's speed decides nothing.
func TestWebhookGivesUp(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db, insecure)
		ops := e.key("s1")
		answers := make([]int, 100)
		for i := range answers {
			answers[i] = http.StatusBadGateway
		}
		rc := newReceiver(t, answers...)
		hookID := e.do("POST", webhooks, ops, newWebhook(rc.URL, []string{erasured.EventCreated, erasured.EventCancelled}, nil)).
			want(t, http.StatusCreated).data(t)["id"].(string)
		id := e.file(ops, "alice")
		const retryFor, backoff = time.Hour, time.Second
		w := deliverer(db, retryFor)
		w.Backoff = backoff
		clock := erasured.Now()
		w.Now = func() time.Time { return clock }
		var d map[string]any
		for round := 0; ; round++ {
			runUntilIdle(t, w)
			list := e.deliveries(ops, hookID)
			if len(list) != 1 || round == len(answers) {
				t.Fatalf("round %d: %d deliveries", round, len(list))
			}
			if d = attrs(list[0]); d["status"] != "pending" {
				break
			}
			next, err := time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string))
			if err != nil || !next.After(clock) {
				t.Fatalf("round %d at %v: the next attempt at %v, %v", round, clock, d["next_attempt_at"], err)
			}
			clock = next
		}
		created, _ := time.Parse(time.RFC3339Nano, d["created_at"].(string))
		attempts := int(d["attempts"].(float64))
		if n := len(rc.requests()); d["status"] != "failed" || attempts < 3 || n != attempts || d["last_status_code"] != 502.0 || d["next_attempt_at"] != nil {
			t.Errorf("%d requests received; the delivery %v", n, d)
		}
		// The last attempt was made within the period, and the retries ended there
		// because the wait drawn for the next, at most the longest, ended past it.
		if end := created.Add(retryFor); clock.After(end) || !clock.Add(erasured.RetryDelay(attempts, backoff, 1)).After(end) {
			t.Errorf("attempt %d, %v after the event, ended the retries", attempts, clock.Sub(created))
		}
		if last := rc.requests()[attempts-1]; last.header.Get("webhook-id") != rc.requests()[0].header.Get("webhook-id") {
			t.Errorf("attempts of one delivery had different webhook-ids")
		}
		if a := attrs(e.do("GET", webhooks+"/"+hookID, ops, nil).want(t, http.StatusOK).data(t)); a["active"] != false {
			t.Errorf("the webhook after %v of failures: %v", retryFor, a)
		}
		e.do("PATCH", erasures+"/"+id, ops, patchBody(id, map[string]any{"status": "cancelled"})).want(t, http.StatusOK)
		runUntilIdle(t, w)
		if n := len(e.deliveries(ops, hookID)); n != 1 {
			t.Errorf("an inactive webhook has %d deliveries", n)
		}
	})
}
