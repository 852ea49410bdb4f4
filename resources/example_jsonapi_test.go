package resources_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/google/jsonapi"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
)

// ErasureRequest is erasured's erasure_request as a Go client declares it for
// github.com/google/jsonapi: every member is an attr, and an object member is a struct
// whose fields are attrs in turn. Members a client does not declare are skipped.
type ErasureRequest struct {
	ID              string           `jsonapi:"primary,erasure_request"`
	ResourceType    string           `jsonapi:"attr,resource_type"`
	ResourceID      string           `jsonapi:"attr,resource_id"`
	Reason          string           `jsonapi:"attr,reason"`
	Status          string           `jsonapi:"attr,status"`
	ServicesErased  []string         `jsonapi:"attr,services_erased"`
	PartialFailures []PartialFailure `jsonapi:"attr,partial_failures"`
	Initiator       Initiator        `jsonapi:"attr,initiator"`
	// Timestamps need the rfc3339 option: without it google/jsonapi v1.0.0 reads a
	// time.Time only from a number of Unix seconds, and fails on erasured's RFC 3339
	// strings ("Only numbers can be parsed as dates"). (Its iso8601 option reads them too,
	// as long as they end in Z, which erasured's always do.) A member that is null
	// (completed_at until the request completes) leaves its pointer nil.
	CreatedAt   time.Time  `jsonapi:"attr,created_at,rfc3339"`
	DueAt       time.Time  `jsonapi:"attr,due_at,rfc3339"`
	CompletedAt *time.Time `jsonapi:"attr,completed_at,rfc3339"`
}

type PartialFailure struct {
	Service string `jsonapi:"attr,service"`
	Message string `jsonapi:"attr,message"`
}

type Initiator struct {
	Name    string `jsonapi:"attr,access-token-name"`
	Email   string `jsonapi:"attr,access-token-email"`
	StoreID string `jsonapi:"attr,access-token-store-id"`
}

// A Go client reads pages of erasure requests with github.com/google/jsonapi's
// UnmarshalManyPayload. It keeps only the resources, so the client reads links.next
// from the same body itself, and follows it until it is null.
func Example_googleJSONAPI() {
	base, token, stop := exampleServer("alice", "bob", "carol")
	defer stop()

	next := base + "/v2/personal-data/erasure-requests?filter=eq(resource_type,account)&sort=resource_id&page[limit]=2"
	for next != "" {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", jsonapi.MediaType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()

		records, err := jsonapi.UnmarshalManyPayload(bytes.NewReader(body), reflect.TypeOf(new(ErasureRequest)))
		if err != nil {
			panic(err)
		}
		for _, r := range records {
			er := r.(*ErasureRequest)
			fmt.Println(er.ResourceID, er.Status, er.Initiator.Name,
				er.DueAt.Sub(er.CreatedAt), er.CompletedAt == nil)
		}

		var page struct {
			Links struct {
				Next *string `json:"next"`
			} `json:"links"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			panic(err)
		}
		next = ""
		if page.Links.Next != nil {
			next = *page.Links.Next
		}
		fmt.Println("--")
	}
	// Output:
	// alice CREATED crm 720h0m0s true
	// bob CREATED crm 720h0m0s true
	// --
	// carol CREATED crm 720h0m0s true
	// --
}

// exampleServer serves erasured on a fresh SQLite store with one erasure request of
// resource_type account for each person, and returns its URL, a token for a key named
// crm, and what stops it. Every response it gives is held to /openapi.json, as in every
// other test of this package: a violation is printed, and so fails the example.
func exampleServer(people ...string) (base, token string, stop func()) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "erasured-example")
	if err != nil {
		panic(err)
	}
	db, err := storage.Open(ctx, "sqlite:"+filepath.Join(dir, "example.db"))
	if err != nil {
		panic(err)
	}
	key, token, err := erasured.NewKey("crm", "crm@example.com", "eu", erasured.AllScopes, erasured.Now())
	if err != nil {
		panic(err)
	}
	if err := db.CreateKey(ctx, key); err != nil {
		panic(err)
	}
	v, err := validator()
	if err != nil {
		panic(err)
	}
	h := resources.New(resources.Config{}, db, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if err := v.Check(r, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			fmt.Println(err)
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	for _, person := range people {
		req, _ := http.NewRequest("POST", srv.URL+"/v2/personal-data/erasure-requests", strings.NewReader(
			`{"data":{"type":"erasure_request","attributes":{"resource_type":"account","resource_id":"`+person+`"}}}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", jsonapi.MediaType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			panic(resp.Status)
		}
	}
	return srv.URL, token, func() {
		srv.Close()
		db.Close()
		os.RemoveAll(dir)
	}
}
