package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// vacuumLock is the advisory lock that storage.DB.Vacuum documents, taken here as
// another process would take it.
const vacuumLock = `SELECT pg_advisory_lock(728354469, 'requests'::regclass::oid::int)`

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// createRequest stores request id of store s for person by with content, and returns
// every personal value it holds as the bytes PostgreSQL writes. A long content is
// random hex, which PostgreSQL cannot compress, so it is TOASTed as it is; of it, a
// sample every 500 characters stands for the whole, so that each TOAST chunk (about
// 2,000 bytes) has several.
func createRequest(t *testing.T, db *storage.DB, id, by, content string) []string {
	t.Helper()
	tag := randomHex(t, 16)
	msg, channel, author := "msg-"+tag, "channel-"+tag, "author-"+tag
	newRequest(t, db, "s", map[string]any{"request_id": id, "requested_by": by, "content": content,
		"platform_message_id": msg, "platform_channel_id": channel, "metadata": map[string]string{"author": author}}, erasured.Now())
	values := []string{by, msg, channel, author}
	if len(content) < 1000 {
		return append(values, content)
	}
	for i := 0; i+32 <= len(content); i += 500 {
		values = append(values, content[i:i+32])
	}
	return values
}

// pageScan is what the pages of requests, its TOAST table and all their indexes hold,
// by relation.
type pageScan struct {
	// tables holds, of each page of requests and of its TOAST table, what lies outside
	// the page's free space: the line pointers, the row versions live or dead, the
	// special space.
	tables map[string][][]byte
	// indexes holds every page of every index, free space and all.
	indexes map[string][][]byte
}

// scanPages reads every page of requests, its TOAST table and their indexes with
// pageinspect's get_raw_page.
func scanPages(t *testing.T, raw *sqlx.DB) pageScan {
	t.Helper()
	var rels []struct {
		Name  string `db:"name"`
		Index bool   `db:"index"`
		Pages int    `db:"pages"`
	}
	err := raw.Select(&rels, `WITH t AS (SELECT oid, reltoastrelid FROM pg_class WHERE oid IN ('requests'::regclass, 'personal_data_logs'::regclass))
		SELECT c.oid::regclass::text AS name, c.relkind = 'i' AS index,
			pg_relation_size(c.oid) / current_setting('block_size')::int AS pages
		FROM pg_class c, t
		WHERE c.oid IN (t.oid, t.reltoastrelid)
			OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (t.oid, t.reltoastrelid))`)
	if err != nil {
		t.Fatal(err)
	}
	// requests, its 8 indexes, its TOAST table and that one's index; the personal data
	// logs, their 5 indexes, their TOAST table and its index
	if len(rels) != 19 {
		t.Fatalf("want 19 relations, found %+v", rels)
	}
	s := pageScan{tables: map[string][][]byte{}, indexes: map[string][][]byte{}}
	for _, rel := range rels {
		for blk := range rel.Pages {
			var p struct {
				Page  []byte `db:"page"`
				Lower int    `db:"lower"`
				Upper int    `db:"upper"`
			}
			if err := raw.Get(&p, `SELECT p AS page, h.lower, h.upper FROM get_raw_page($1, $2) p, page_header(p) h`,
				rel.Name, blk); err != nil {
				t.Fatalf("page %d of %s: %v", blk, rel.Name, err)
			}
			switch {
			case rel.Index:
				s.indexes[rel.Name] = append(s.indexes[rel.Name], p.Page)
			case p.Lower > p.Upper || p.Upper > len(p.Page):
				t.Fatalf("page %d of %s: lower %d, upper %d", blk, rel.Name, p.Lower, p.Upper)
			default:
				s.tables[rel.Name] = append(s.tables[rel.Name], p.Page[:p.Lower], p.Page[p.Upper:])
			}
		}
	}
	return s
}

// holding lists the relations with a page in which value occurs.
func (s pageScan) holding(value string) []string {
	var in []string
	for _, rels := range []map[string][][]byte{s.tables, s.indexes} {
		for rel, parts := range rels {
			for _, part := range parts {
				if bytes.Contains(part, []byte(value)) {
					in = append(in, rel)
					break
				}
			}
		}
	}
	return in
}

// vacuumUntil calls Vacuum until it does more than wait: on a database of the test's
// own, the only transactions it can wait for are the test's, and those end.
func vacuumUntil(t *testing.T, db *storage.DB, every time.Duration) storage.VacuumReport {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r, err := db.Vacuum(context.Background(), every)
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != storage.VacuumWaiting {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after a minute: %+v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// What an erasure or a deletion removed from requests must leave PostgreSQL's pages
// once Vacuum has run: no index page holds any of it, and no heap or TOAST page holds
// it in a row version, live or dead. (The free space of a heap or TOAST page may still
// hold the bytes of a reclaimed row version: VACUUM does not clear it. See Vacuum.)
func TestVacuumTakesErasedAndDeletedDataOutOfThePages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := storagetest.PostgresDatabase(t)
	db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
	if _, err := raw.Exec(`CREATE EXTENSION pageinspect`); err != nil {
		t.Fatal(err)
	}

	tag := randomHex(t, 16)
	subject, leaving, staying := "erase-"+tag, "delete-"+tag, "stay-"+tag
	long := func() string { return randomHex(t, 12000) }
	createRequest(t, db, "before-1", "someone-else", "an earlier note")
	createRequest(t, db, "before-2", "someone-else", long())
	var gone []string
	for _, id := range []string{"erase-1", "erase-2", "erase-3"} {
		gone = append(gone, createRequest(t, db, id, subject, "a note by "+subject+" in "+id)...)
	}
	gone = append(gone, createRequest(t, db, "erase-long", subject, long())...)
	gone = append(gone, createRequest(t, db, "delete-1", leaving, "a note by "+leaving)...)
	gone = append(gone, createRequest(t, db, "delete-long", leaving, long())...)
	kept := createRequest(t, db, "after-1", staying, "a later note by "+staying)
	kept = append(kept, createRequest(t, db, "after-2", staying, long())...)

	er := newErasureRequest(t, db, "s", subject, erasured.Now())
	if _, n, err := db.EraseHeldData(ctx, "s", er.ID); err != nil || n != 4 {
		t.Fatalf("erasure: %d requests, %v", n, err)
	}
	for _, id := range []string{"delete-1", "delete-long"} {
		d, err := db.RequestDeletion(ctx, "s", id, erasured.Initiator{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PerformDeletion(ctx, d); err != nil || d.Status != erasured.DeletionSuccess {
			t.Fatalf("deletion of %s: %v, %+v", id, err, d)
		}
	}

	// Erased and deleted, yet all still there in dead row versions and index entries:
	// the scan sees them, so it would see them after Vacuum too.
	before := scanPages(t, raw)
	for _, v := range gone {
		if len(before.holding(v)) == 0 {
			t.Fatalf("before Vacuum no page holds %.40q: the scan cannot see what it looks for", v)
		}
	}
	// The index entries are certain to be there; the heaps' dead row versions may
	// already have been pruned into free space by a later statement that read their page.
	if in := before.holding(subject); !slices.Contains(in, "requests_requested_by") || !slices.Contains(in, "personal_data_logs_subject") {
		t.Fatalf("before Vacuum the subject is in %v; want at least the index of each table that holds it", in)
	}

	if r := vacuumUntil(t, db, 0); r.Outcome != storage.VacuumDone {
		t.Fatalf("Vacuum: %+v", r)
	}

	after := scanPages(t, raw)
	for _, v := range gone {
		if in := after.holding(v); len(in) > 0 {
			t.Errorf("after Vacuum %v still hold %.40q", in, v)
		}
	}
	// What nobody erased is where it was, so the scan read the right pages.
	for _, v := range kept {
		if len(after.holding(v)) == 0 {
			t.Errorf("after Vacuum no page holds %.40q, which was not erased", v)
		}
	}
	if in := after.holding(staying); len(in) != 5 {
		t.Errorf("after Vacuum a kept requested_by is in %v; want requests, personal_data_logs, the TOAST table of the logs (a long content's entry) and the index of each table that holds it", in)
	}
	// The list filtered on requested_by, which the rebuilt index serves, still finds
	// what it should.
	filter, err := filters.Parse("eq(requested_by,"+staying+")", erasured.Requests.Filters())
	if err != nil {
		t.Fatal(err)
	}
	page, err := db.RequestPage(ctx, storage.ListOptions{StoreID: "s", Filter: filter, Page: pagination.Page{Limit: 10}})
	if err != nil || len(page.Items) != 2 {
		t.Errorf("requests of %s after Vacuum: %+v, %v", staying, page, err)
	}
}

// Vacuum runs only when an erasure or a deletion left something to vacuum, one process
// at a time, at most once per interval, and only once the transactions that may still
// see what was removed have ended; and it cleans up after a rebuild that was cut short.
func TestVacuumTakesTurnsAndWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := storagetest.PostgresDatabase(t)
	db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
	vacuum := func(every time.Duration) storage.VacuumReport {
		t.Helper()
		r, err := db.Vacuum(ctx, every)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	erase := func(person string) {
		t.Helper()
		createRequest(t, db, "r-"+person, person, "a note")
		if _, n, err := db.EraseHeldData(ctx, "s", newErasureRequest(t, db, "s", person, erasured.Now()).ID); err != nil || n != 1 {
			t.Fatalf("erasure: %d, %v", n, err)
		}
	}
	due := func() bool {
		t.Helper()
		var due bool
		if err := raw.Get(&due, `SELECT due_since IS NOT NULL OR horizon IS NOT NULL FROM vacuums WHERE relation = 'requests'`); err != nil {
			t.Fatal(err)
		}
		return due
	}

	if r := vacuum(0); r.Outcome != storage.VacuumIdle {
		t.Fatalf("with nothing erased: %+v", r)
	}
	createRequest(t, db, "r-kept", "kept", "a note")
	if r := vacuum(0); r.Outcome != storage.VacuumIdle || due() {
		t.Fatalf("after a create only: %+v", r)
	}

	// A transaction that began before the erasure may still read what it erased, and
	// so may a process that holds the lock; neither is waited for by blocking.
	old, err := raw.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback() //nolint:errcheck // committed below
	var oldPID int
	if err := old.Get(&oldPID, `SELECT pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	erase("alice")
	other, err := raw.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, vacuumLock); err != nil {
		t.Fatal(err)
	}
	if r := vacuum(0); r.Outcome != storage.VacuumIdle || !due() {
		t.Fatalf("while another process vacuums: %+v, due %v", r, due())
	}
	if _, err := other.ExecContext(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		t.Fatal(err)
	}
	r := vacuum(0)
	if r.Outcome != storage.VacuumWaiting || r.Blocker != fmt.Sprintf("backend %d", oldPID) || r.BlockerSince == nil {
		t.Fatalf("while an older transaction is open: %+v; want it to wait for backend %d", r, oldPID)
	}
	if err := old.Commit(); err != nil {
		t.Fatal(err)
	}
	if r := vacuumUntil(t, db, 0); r.Outcome != storage.VacuumDone || due() {
		t.Fatalf("once it ended: %+v", r)
	}
	if r := vacuum(0); r.Outcome != storage.VacuumIdle {
		t.Fatalf("with nothing new to vacuum: %+v", r)
	}

	// Within the interval a new erasure waits for the next vacuum; past it, it is done.
	erase("bob")
	if r := vacuum(time.Hour); r.Outcome != storage.VacuumIdle || !due() {
		t.Fatalf("within the interval: %+v, due %v", r, due())
	}
	if r := vacuumUntil(t, db, 0); r.Outcome != storage.VacuumDone || due() {
		t.Fatalf("past the interval: %+v", r)
	}

	// A deletion marks the table as an erasure does.
	d, err := db.RequestDeletion(ctx, "s", "r-kept", erasured.Initiator{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PerformDeletion(ctx, d); err != nil || !due() {
		t.Fatalf("deletion: %v, due %v", err, due())
	}

	// A rebuild cut short leaves an invalid copy of the index; the next vacuum drops it.
	// (A unique index on store_id cannot be built, and fails as a cancelled rebuild does.)
	if _, err := raw.Exec(`CREATE UNIQUE INDEX CONCURRENTLY requests_requested_by_ccnew ON requests (store_id)`); err == nil {
		t.Fatal("the unique index was built")
	}
	if r := vacuumUntil(t, db, 0); r.Outcome != storage.VacuumDone {
		t.Fatalf("after the deletion: %+v", r)
	}
	var indexes []string
	if err := raw.Select(&indexes, `SELECT indexrelid::regclass::text FROM pg_index
		WHERE indrelid = 'requests'::regclass AND (NOT indisvalid OR indexrelid::regclass::text LIKE 'requests_requested_by%')`); err != nil {
		t.Fatal(err)
	}
	if len(indexes) != 1 || indexes[0] != "requests_requested_by" {
		t.Errorf("indexes on requested_by, and invalid ones, after the vacuum: %v", indexes)
	}

	// The embedded store has nothing to vacuum: its file is scrubbed as data goes.
	if r, err := storagetest.Open(t, "sqlite").Vacuum(ctx, 0); err != nil || r.Outcome != storage.VacuumIdle {
		t.Errorf("SQLite: %+v, %v", r, err)
	}
}
