package storage

import (
	"reflect"
	"testing"
)

// An explicit scan reads the columns in the order the query names them: each of
// erasureRow's fields must be the one whose db tag names that column.
func TestErasureRowFieldsFollowColumns(t *testing.T) {
	var row erasureRow
	fields := row.fields()
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
