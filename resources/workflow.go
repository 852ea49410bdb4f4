package resources

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/erasured/erasured"
)

// workflowPath is the identity service's endpoint for reports on an erasure request.
const workflowPath = "/v1/erasure-requests/{request_id}"

// reportMembers are the members of a report: of the workflow endpoint's body, and the
// attributes of a JSON:API PATCH of an erasure_request.
var reportMembers = []string{"status", "services_erased", "partial_failures", "completed_at"}

// workflowView is an erasure request as the identity service's workflow endpoint shows it.
type workflowView struct {
	RequestID       string                    `json:"request_id"`
	UserID          string                    `json:"user_id"`
	RequestedBy     string                    `json:"requested_by"`
	Status          erasured.Status           `json:"status"`
	Reason          *string                   `json:"reason"`
	ServicesErased  []string                  `json:"services_erased"`
	PartialFailures []erasured.PartialFailure `json:"partial_failures"`
	RequestedAt     string                    `json:"requested_at"`
	CompletedAt     *string                   `json:"completed_at"`
}

// reportErasure is PATCH /v1/erasure-requests/{request_id}: a service reports on an
// erasure request in plain JSON, exactly as the identity service defines it, and gets the
// request back as that service knows it. Errors are {"error","message"} (plainError).
//
// The report merges into the request (erasured.ErasureRequest.Apply) in one transaction
// on the locked row, and its event names the API key as the actor. If-Match is honoured
// as on the JSON:API PATCH, and the answer carries the new ETag.
func (s *Server) reportErasure(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureWorkflow)
	if err != nil {
		return err
	}
	if r.URL.RawQuery != "" {
		return paramError("", "this endpoint takes no query parameters")
	}
	if err := checkJSONBody(r); err != nil {
		return err
	}
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := strictJSON(body, &raw); err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return bodyError("", "the request body must be a JSON object")
	}
	rep, err := decodeReport(members, "/")
	if err != nil {
		return err
	}
	er, err := s.db.UpdateErasureRequest(r.Context(), key.StoreID, mux.Vars(r)["request_id"], key.Name, version, rep)
	if err != nil {
		return err
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
		RequestedAt:     timestamp(er.CreatedAt),
		CompletedAt:     nullableTimestamp(er.CompletedAt),
	})
	return nil
}

// checkJSONBody answers 415 unless r declares a JSON body in UTF-8: application/json,
// or application/vnd.api+json, which is JSON too. A body without a Content-Type is
// refused rather than guessed at, as on the JSON:API endpoints.
func checkJSONBody(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || mt == mediaType) {
		if charset, ok := params["charset"]; !ok || strings.EqualFold(charset, "utf-8") {
			return nil
		}
	}
	return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
		detail: fmt.Sprintf("Content-Type must be application/json, got %q", ct)}
}

// decodeReport reads a report from members, the body of the workflow endpoint or the
// attributes of a JSON:API PATCH; base is where they sit, for the pointer of a 400.
// Absent members leave the request alone; completed_at may be null, which clears it.
// The others may not: a null status names no state, and reports add to the lists of
// services, so null could not clear them.
//
// status takes the stored vocabulary only. The Elastic Path view that GET shows is
// derived from the status and the failures (SUCCESS and FAILURE are both completed), so
// it cannot say what to store; a view value is a 400 that says so.
func decodeReport(members map[string]json.RawMessage, base string) (erasured.Report, error) {
	var rep erasured.Report
	if err := onlyAttributes(members, base, reportMembers...); err != nil {
		return rep, err
	}
	status, err := attr[erasured.Status](members, base, "status", "one of pending, in_progress, completed")
	switch {
	case err != nil:
		return rep, err
	case status.Null:
		return rep, bodyError(base+"status", "status cannot be null; leave it out to keep the status as it is")
	case slices.Contains([]string{erasured.ViewCreated, erasured.ViewInProgress, erasured.ViewSuccess, erasured.ViewFailure}, string(status.Value)):
		return rep, bodyError(base+"status", "%q is how the status reads; a report sets the stored status: pending, in_progress or completed", status.Value)
	case status.Present:
		rep.Status = &status.Value
	}
	erased, err := attr[[]string](members, base, "services_erased", "an array of service names")
	switch {
	case err != nil:
		return rep, err
	case erased.Null:
		return rep, bodyError(base+"services_erased", "services_erased cannot be null: reports add to the services erased, they never clear them")
	}
	rep.ServicesErased = erased.Value
	failures, err := attr[[]failureIn](members, base, "partial_failures", `an array of {"service","message"} objects`)
	switch {
	case err != nil:
		return rep, err
	case failures.Null:
		return rep, bodyError(base+"partial_failures", "partial_failures cannot be null: reports add to the failures, a later success clears one")
	}
	for _, f := range failures.Value {
		rep.PartialFailures = append(rep.PartialFailures, erasured.PartialFailure(f))
	}
	completed, err := attr[time.Time](members, base, "completed_at", "an RFC 3339 timestamp or null")
	if err != nil {
		return rep, err
	}
	if completed.Present {
		rep.CompletedAt.Set = true
		if !completed.Null {
			rep.CompletedAt.Value = &completed.Value
		}
	}
	return rep, nil
}

// failureIn is one partial failure as a client writes it, decoded as strictly as the
// report around it: a member it does not know is a 400, not silently dropped.
type failureIn erasured.PartialFailure

func (f *failureIn) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode((*erasured.PartialFailure)(f))
}
