package resources

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources/jsonapi"
)

const deletionPath = "/deletions"

// deletionFormat is one representation of a deletion: the Open Podcast API's plain JSON
// or XML, or a JSON:API resource. Each has its own error shape, so that a client reads
// a 401 or a 404 the way it reads the deletion itself.
type deletionFormat struct {
	jsonapi.Offer
	// write answers 200 with d; fields is the sparse fieldset, only ever asked of JSON:API.
	write       func(s *Server, w http.ResponseWriter, r *http.Request, d *erasured.Deletion, fields jsonapi.Fieldset) error
	renderError renderer
}

// deletionFormats in the server's order of preference, which decides between
// representations that an Accept likes equally, as "*/*" does.
var deletionFormats = []deletionFormat{
	{Offer: jsonapi.Offer{Type: "application/json", Params: map[string]string{"charset": "utf-8"}}, write: writeDeletionJSON, renderError: podcastError},
	{Offer: jsonapi.Offer{Type: "application/xml", Params: map[string]string{"charset": "utf-8"}}, write: writeDeletionXML, renderError: xmlError},
	{Offer: jsonapi.Offer{Type: jsonapi.MediaType, Params: map[string]string{"profile": ""}}, write: (*Server).writeDeletionJSONAPI, renderError: jsonapiError},
}

// deletionURL is the absolute URL of deletion id.
func (s *Server) deletionURL(r *http.Request, id int64) string {
	return s.baseURL(r) + deletionPath + "/" + strconv.FormatInt(id, 10)
}

// deletion serves GET /deletions/{deletion_id}. The representation is chosen before
// anything else, so that every error after that, 401 included, is written in it. An
// Accept that no representation satisfies is answered with a JSON:API error document:
// it is the server's error shape wherever no other has been asked for, as on unknown
// paths, and its detail lists the media types that would have worked.
func (s *Server) deletion() http.Handler {
	offers := make([]jsonapi.Offer, len(deletionFormats))
	for i, f := range deletionFormats {
		offers[i] = f.Offer
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Caches must not hand one client's representation to another.
		w.Header().Add("Vary", "Accept")
		chosen, err := jsonapi.Choose(r.Header.Values("Accept"), offers...)
		if err != nil {
			s.fail(w, r, jsonapiError, err)
			return
		}
		for _, f := range deletionFormats {
			if f.Type == chosen.Type {
				s.handle(f.renderError, func(w http.ResponseWriter, r *http.Request) error {
					return s.getDeletion(w, r, f)
				}).ServeHTTP(w, r)
				return
			}
		}
	})
}

func (s *Server) getDeletion(w http.ResponseWriter, r *http.Request, f deletionFormat) error {
	key, err := s.authorize(r, erasured.ScopeDeletionsRead)
	if err != nil {
		return err
	}
	var fields jsonapi.Fieldset
	if f.Type == jsonapi.MediaType {
		if fields, err = onlyFields(r, erasured.Deletions.Name, erasured.Deletions.FieldNames()); err != nil {
			return err
		}
	} else if _, err := query(r); err != nil {
		return err
	}
	raw := mux.Vars(r)["deletion_id"]
	id, err := strconv.ParseInt(raw, 10, 64)
	// Only the canonical decimal form names a deletion, so that each has one URL.
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != raw {
		return erasured.Errorf(erasured.ENOTFOUND, "no deletion %q: deletion ids are positive integers", raw)
	}
	d, err := s.db.Deletion(r.Context(), key.StoreID, id)
	if err != nil {
		return err
	}
	return f.write(s, w, r, d, fields)
}

// deletionStatus is the Open Podcast API's deletion status, in its member order, as
// JSON and as XML.
type deletionStatus struct {
	XMLName    xml.Name `json:"-" xml:"deletion"`
	DeletionID int64    `json:"deletion_id" xml:"deletion_id"`
	Status     string   `json:"status" xml:"status"`
	Message    string   `json:"message" xml:"message"`
}

func deletionBody(d *erasured.Deletion) deletionStatus {
	return deletionStatus{DeletionID: d.ID, Status: d.Status, Message: d.Message}
}

func writeDeletionJSON(_ *Server, w http.ResponseWriter, _ *http.Request, d *erasured.Deletion, _ jsonapi.Fieldset) error {
	writeJSON(w, http.StatusOK, deletionBody(d))
	return nil
}

func writeDeletionXML(_ *Server, w http.ResponseWriter, _ *http.Request, d *erasured.Deletion, _ jsonapi.Fieldset) error {
	return writeXML(w, http.StatusOK, deletionBody(d))
}

func (s *Server) writeDeletionJSONAPI(w http.ResponseWriter, r *http.Request, d *erasured.Deletion, fields jsonapi.Fieldset) error {
	node := jsonapi.NewObject(erasured.Deletions.Name, erasured.Deletions.IDOf(d), erasured.Deletions.Read(d), fields, s.deletionURL(r, d.ID))
	return s.write(w, r, http.StatusOK, &jsonapi.Document{Data: node, Links: jsonapi.Links{Base: s.baseURL(r), Self: s.selfURL(r)}})
}

// xmlDeclaration opens every XML body. encoding/xml's own xml.Header ends with a newline
// that the Open Podcast API's documents do not have.
const xmlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>`

// writeXML writes v with encoding/xml, which escapes text (and replaces characters XML
// cannot hold), so a failure reason can never break the document.
func writeXML(w http.ResponseWriter, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal XML: %w", err)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xmlDeclaration))
	_, _ = w.Write(body) // the client hung up; nothing left to tell it
	return nil
}
