package storage

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// An explicit scan reads the columns in the order the query names them: each of
// erasureRow's fields must be the one whose db tag names that column.
func TestErasureRowFieldsFollowColumns(t *testing.T) {
	var row erasureRow
	fields := row.fields(newMemos())
	if len(fields) != len(erasureColumns) {
		t.Fatalf("%d fields for %d columns", len(fields), len(erasureColumns))
	}
	v := reflect.ValueOf(&row).Elem()
	for i, column := range erasureColumns {
		var want any
		for j := range v.NumField() {
			if v.Type().Field(j).Tag.Get("db") == column {
				want = v.Field(j).Addr().Interface()
			}
		}
		if want == nil {
			t.Fatalf("no field of erasureRow is column %s", column)
		}
		if reflect.ValueOf(fields[i]).Pointer() != reflect.ValueOf(want).Pointer() {
			t.Errorf("field %d is not column %s", i, column)
		}
	}
}

// A memo hands out what the JSON decodes to, once decoded or remembered, and each
// caller's own copy of it.
func TestMemoDecodesAndCopies(t *testing.T) {
	m := newMemos().services
	var first, second []string
	if err := m.decode([]byte(`["crm", "billing"]`), &first); err != nil {
		t.Fatal(err)
	}
	first[0] = "changed"
	if err := m.decode([]byte(`["crm", "billing"]`), &second); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(second, []string{"crm", "billing"}) {
		t.Fatalf("remembered %q", second)
	}
	var bad []string
	if err := m.decode([]byte(`["crm",`), &bad); err == nil {
		t.Fatal("bad JSON decoded")
	}
	for i := range maxMemo + 10 {
		var v []string
		if err := m.decode([]byte(`["s`+strconv.Itoa(i)+`"]`), &v); err != nil || v[0] != "s"+strconv.Itoa(i) {
			t.Fatalf("%d: %q, %v", i, v, err)
		}
	}
	if len(m.known) > maxMemo {
		t.Fatalf("%d remembered", len(m.known))
	}
}
