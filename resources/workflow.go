package resources

import (
	"net/http"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources/jsonapi"
)

// workflowPath is the identity service's endpoint for reports on an erasure request.
const workflowPath = "/v1/erasure-requests/{request_id}"

// workflowBodies are the media types a report may come in: JSON, in UTF-8.
var workflowBodies = []jsonapi.Offer{
	{Type: "application/json", Params: map[string]string{"charset": "utf-8"}},
	{Type: jsonapi.MediaType, Params: map[string]string{"charset": "utf-8", "profile": ""}},
}

// workflowView is an erasure request as the identity service's workflow endpoint shows it.
type workflowView struct {
	RequestID       string                    `json:"request_id"`
	UserID          string                    `json:"user_id"`
	RequestedBy     string                    `json:"requested_by"`
	Status          erasured.Status           `json:"status"`
	Reason          *string                   `json:"reason"`
	ServicesErased  []string                  `json:"services_erased"`
	PartialFailures []erasured.PartialFailure `json:"partial_failures"`
	RequestedAt     time.Time                 `json:"requested_at"`
	CompletedAt     *time.Time                `json:"completed_at"`
}

// reportErasure is PATCH /v1/erasure-requests/{request_id}: a service reports on an
// erasure request in plain JSON, exactly as the identity service defines it, and gets the
// request back as that service knows it. Errors are {"error","message"} (plainError).
//
// The body's members are the attributes of erasure_request that a report may carry
// (erasured.ErasureRequests, those that allow Patch), decoded as a JSON:API PATCH's are.
// The report merges into the request (erasured.ErasureRequest.Apply) in one transaction
// on the locked row, and its event names the API key as the actor. If-Match is honoured
// as on the JSON:API PATCH, and the answer carries the new ETag.
func (s *Server) reportErasure(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureWorkflow)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	if err := jsonapi.CheckContentType(r.Header.Get("Content-Type"), workflowBodies...); err != nil {
		return err
	}
	body, err := jsonapi.ReadBody(r)
	if err != nil {
		return err
	}
	members, err := jsonapi.DecodeObject(body)
	if err != nil {
		return err
	}
	in, err := erasured.ErasureRequests.Decode(members, erasured.Patch)
	if err != nil {
		return pointTo(err, "/")
	}
	id, err := pathID(r, "request_id", erasured.ErasureRequests)
	if err != nil {
		return err
	}
	er, err := s.db.UpdateErasureRequest(r.Context(), key.StoreID, id, key.Name, ifMatch(r), erasured.ReportOf(in))
	if err != nil {
		return pointTo(err, "/")
	}
	w.Header().Set("ETag", etag(er.Version))
	writeJSON(w, http.StatusOK, workflowView{
		RequestID:       er.ID,
		UserID:          er.ResourceID,
		RequestedBy:     er.Initiator.Name,
		Status:          er.Status,
		Reason:          er.Reason,
		ServicesErased:  er.ServicesErased,
		PartialFailures: er.PartialFailures,
		RequestedAt:     er.CreatedAt,
		CompletedAt:     er.CompletedAt,
	})
	return nil
}
