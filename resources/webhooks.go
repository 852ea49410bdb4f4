package resources

import (
	"context"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

// WebhooksPath is where a store's webhooks are served.
const WebhooksPath = "/v2/webhooks"

// webhooks serves the webhook type. Its URL is checked against the egress policy
// (Config.Webhooks) whenever a client gives one, so that a URL that the server must not
// call is refused at once, with a 400 that says why, as well as by every delivery.
// The answer to the POST is the only one that shows the secret.
func (s *Server) webhooks() *collection[erasured.Webhook] {
	return &collection[erasured.Webhook]{
		typ: erasured.Webhooks, path: WebhooksPath, param: "id",
		read: erasured.ScopeErasureWorkflow, write: erasured.ScopeErasureWorkflow, change: erasured.ScopeErasureWorkflow,
		version: func(w *erasured.Webhook) int64 { return w.Version },
		list:    s.db.WebhookPage,
		get:     s.db.Webhook,
		create: func(ctx context.Context, key *erasured.Key, in erasured.Values, idem *storage.Idempotency) (*erasured.Webhook, error) {
			if err := s.checkWebhookURL(ctx, in); err != nil {
				return nil, err
			}
			return s.db.CreateWebhook(ctx, erasured.NewWebhook(key.StoreID, in, erasured.Now()), idem)
		},
		update: func(ctx context.Context, key *erasured.Key, id string, match *erasured.Match, in erasured.Values) (*erasured.Webhook, error) {
			if err := s.checkWebhookURL(ctx, in); err != nil {
				return nil, err
			}
			return s.db.UpdateWebhook(ctx, key.StoreID, id, match, in)
		},
		destroy: s.db.DeleteWebhook,
	}
}

// checkWebhookURL checks the url in, if any, against the egress policy.
func (s *Server) checkWebhookURL(ctx context.Context, in erasured.Values) error {
	if u, ok := in["url"].(string); ok {
		return s.cfg.Webhooks.Check(ctx, u)
	}
	return nil
}

// webhookDeliveries serves the deliveries of one webhook, newest first: what was sent,
// what is still to send, and how each attempt went. They are read only through their
// webhook, and have no URL of their own.
func (s *Server) webhookDeliveries() *collection[erasured.WebhookDelivery] {
	return &collection[erasured.WebhookDelivery]{
		typ: erasured.WebhookDeliveries, path: WebhooksPath + "/{id}/deliveries", parent: "id",
		read: erasured.ScopeErasureWorkflow,
		list: s.db.WebhookDeliveryPage,
	}
}
