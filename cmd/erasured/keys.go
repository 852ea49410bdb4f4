package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

func createKey(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	f := newFlags("keys create", getenv)
	dbURL := f.databaseURL()
	name := f.String("name", "", "who or what uses the key (recorded as the initiator of its erasure requests)")
	email := f.String("email", "", "contact email of the key's owner")
	store := f.String("store", "", "the store (tenant) the key belongs to")
	scopes := f.String("scopes", "", "comma-separated scopes: "+strings.Join(erasured.AllScopes, ","))
	expiresIn := f.Duration("expires-in", 0, "how long the key works, e.g. 720h (default: until revoked)")
	representation := f.String("representation", erasured.RepresentationJSONAPI,
		"what /v2/personal-data/* answers this key in when Accept does not say: "+strings.Join(erasured.Representations, " or "))
	asJSON := f.Bool("json", false, `print {"id":…,"token":…} (the id is the OAuth client_id, the token its client_secret)`)
	if err := f.parse(args); err != nil {
		return err
	}
	var list []string
	for s := range strings.SplitSeq(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	key, token, err := erasured.NewKey(*name, *email, *store, list, erasured.Now(),
		erasured.KeyOptions{ExpiresIn: *expiresIn, Representation: *representation})
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CreateKey(ctx, key); err != nil {
		return err
	}
	return printToken(stdout, *asJSON, key.ID, token)
}

func printToken(stdout io.Writer, asJSON bool, id, token string) error {
	if !asJSON {
		_, err := fmt.Fprintln(stdout, token)
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"id": id, "token": token})
}

// keyView is a key as keys list shows it: everything but its token.
type keyView struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Email          string     `json:"email"`
	Store          string     `json:"store"`
	Scopes         []string   `json:"scopes"`
	Representation string     `json:"representation"`
	Created        time.Time  `json:"created"`
	LastUsed       *time.Time `json:"last_used"`
	Expires        *time.Time `json:"expires"`
	Revoked        *time.Time `json:"revoked"`
}

func listKeys(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	f := newFlags("keys list", getenv)
	dbURL := f.databaseURL()
	asJSON := f.Bool("json", false, "one JSON object a line")
	if err := f.parse(args); err != nil {
		return err
	}
	db, err := storage.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	all, err := db.Keys(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, k := range all {
			if err := enc.Encode(keyView{ID: k.ID, Name: k.Name, Email: k.Email, Store: k.StoreID, Scopes: k.Scopes,
				Representation: k.Representation, Created: k.CreatedAt, LastUsed: k.LastUsedAt, Expires: k.ExpiresAt,
				Revoked: k.RevokedAt}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTORE\tSCOPES\tREPRESENTATION\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
	for _, k := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.StoreID, strings.Join(k.Scopes, ","),
			k.Representation, k.CreatedAt.Format(time.RFC3339), when(k.LastUsedAt), when(k.ExpiresAt), when(k.RevokedAt))
	}
	return tw.Flush()
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// changeKey revokes key ID, or rotates it and prints its new token.
func changeKey(ctx context.Context, verb string, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	f := newFlags("keys "+verb, getenv)
	dbURL := f.databaseURL()
	asJSON := new(bool)
	if verb == "rotate" {
		asJSON = f.Bool("json", false, `print {"id":…,"token":…}`)
	}
	// The id comes first, as in "keys revoke ID --database-url …"; flags may follow it.
	if len(args) > 0 && isHelpFlag(args[0]) {
		return f.parse(args)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("usage: erasured keys %s ID [--database-url URL] (erasured keys %s --help lists the flags)", verb, verb)
	}
	id := args[0]
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	db, err := storage.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if verb == "revoke" {
		if err := db.RevokeKey(ctx, id, erasured.Now()); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stderr, "erasured: key %s is revoked\n", id)
		return err
	}
	token := erasured.NewToken(erasured.KeyTokenPrefix)
	if err := db.RotateKey(ctx, id, erasured.HashToken(token)); err != nil {
		return err
	}
	return printToken(stdout, *asJSON, id, token)
}
