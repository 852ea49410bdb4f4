package filters_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erasured/erasured"
	. "github.com/erasured/erasured/filters"
)

// testAttrs are attributes of each kind a filter takes, as a resource type declares them.
var testAttrs = []Attribute{
	{Name: "resource_type", Ops: erasured.FilterExact, Parse: erasured.Enum{"account", "user", "project"}.Parse},
	{Name: "resource_id", Ops: erasured.FilterExact, Parse: erasured.UUID{}.Parse},
	{Name: "status", Ops: erasured.FilterExact, Parse: erasured.Enum{"pending", "in_progress", "completed"}.Parse},
	{Name: "created_at", Ops: erasured.FilterOrdered, Parse: erasured.Timestamp{}.Parse},
	{Name: "name", Ops: erasured.FilterText, Parse: erasured.String{}.Parse},
}

// Limits of the package, as its errors state them.
const (
	maxLength     = 4096
	maxConditions = 20
	maxInValues   = 100
)

const apiExample = "eq(resource_type,account):eq(resource_id,0f850c15-d643-480a-a2b4-9e3c26067178)"

func cond(attr string, op Op, values ...any) Condition {
	return Condition{Attribute: attr, Op: op, Values: values}
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseValid(t *testing.T) {
	const id = "0f850c15-d643-480a-a2b4-9e3c26067178"
	hundred := make([]string, 100)
	hundredValues := make([]any, 100)
	for i := range hundred {
		hundred[i] = strconv.Itoa(i)
		hundredValues[i] = hundred[i]
	}
	twenty := strings.TrimSuffix(strings.Repeat("eq(name,x):", 20), ":")
	twentyWant := make(Expr, 20)
	for i := range twentyWant {
		twentyWant[i] = cond("name", Eq, "x")
	}

	tests := []struct {
		name string
		in   string
		want Expr
	}{
		{"empty", "", nil},
		{"api example", apiExample, Expr{cond("resource_type", Eq, "account"), cond("resource_id", Eq, id)}},

		// Every operator on a String attribute.
		{"string eq", "eq(name,alice)", Expr{cond("name", Eq, "alice")}},
		{"string in", "in(name,alice,bob)", Expr{cond("name", In, "alice", "bob")}},
		{"string in one value", "in(name,alice)", Expr{cond("name", In, "alice")}},
		{"string like", "like(name,*li*)", Expr{cond("name", Like, "*li*")}},
		{"string gt", "gt(name,m)", Expr{cond("name", Gt, "m")}},
		{"string ge", "ge(name,m)", Expr{cond("name", Ge, "m")}},
		{"string lt", "lt(name,m)", Expr{cond("name", Lt, "m")}},
		{"string le", "le(name,m)", Expr{cond("name", Le, "m")}},

		// Time: ':' inside a raw value is plain text, values become UTC.
		{"time eq", "eq(created_at,2026-01-01T00:00:00Z)", Expr{cond("created_at", Eq, ts("2026-01-01T00:00:00Z"))}},
		{"time gt", "gt(created_at,2026-01-01T00:00:00Z)", Expr{cond("created_at", Gt, ts("2026-01-01T00:00:00Z"))}},
		{"time ge", "ge(created_at,2026-01-01T00:00:00Z)", Expr{cond("created_at", Ge, ts("2026-01-01T00:00:00Z"))}},
		{"time lt", "lt(created_at,2026-01-01T00:00:00Z)", Expr{cond("created_at", Lt, ts("2026-01-01T00:00:00Z"))}},
		{"time le", "le(created_at,2026-01-01T00:00:00Z)", Expr{cond("created_at", Le, ts("2026-01-01T00:00:00Z"))}},
		{"time in", "in(created_at,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z)",
			Expr{cond("created_at", In, ts("2026-01-01T00:00:00Z"), ts("2026-02-01T00:00:00Z"))}},
		{"time offset to utc", "eq(created_at,2026-01-01T02:30:00+02:00)", Expr{cond("created_at", Eq, ts("2026-01-01T00:30:00Z"))}},
		{"time to the microsecond", "eq(created_at,2026-01-01T00:00:00.123456789Z)", Expr{cond("created_at", Eq, ts("2026-01-01T00:00:00.123456Z"))}},
		{"time quoted", `gt(created_at,"2026-01-01T00:00:00Z")`, Expr{cond("created_at", Gt, ts("2026-01-01T00:00:00Z"))}},
		{"time range", "ge(created_at,2026-01-01T00:00:00Z):lt(created_at,2026-02-01T00:00:00Z)",
			Expr{cond("created_at", Ge, ts("2026-01-01T00:00:00Z")), cond("created_at", Lt, ts("2026-02-01T00:00:00Z"))}},

		// Enum and UUID.
		{"enum eq", "eq(status,pending)", Expr{cond("status", Eq, "pending")}},
		{"enum in", "in(status,pending,completed)", Expr{cond("status", In, "pending", "completed")}},
		{"enum quoted", `eq(status,"in_progress")`, Expr{cond("status", Eq, "in_progress")}},
		{"uuid eq", "eq(resource_id," + id + ")", Expr{cond("resource_id", Eq, id)}},
		{"uuid upper case normalized", "eq(resource_id," + strings.ToUpper(id) + ")", Expr{cond("resource_id", Eq, id)}},
		{"uuid in", "in(resource_id," + id + ",00000000-0000-0000-0000-000000000000)",
			Expr{cond("resource_id", In, id, "00000000-0000-0000-0000-000000000000")}},

		// Raw values are verbatim.
		{"raw colon and spaces", "eq(name,a b: c )", Expr{cond("name", Eq, "a b: c ")}},
		{"raw quote inside", `eq(name,a"b)`, Expr{cond("name", Eq, `a"b`)}},
		{"raw backslash", `eq(name,a\b)`, Expr{cond("name", Eq, `a\b`)}},
		{"raw parenthesis open", "eq(name,f(x)", Expr{cond("name", Eq, "f(x")}},
		{"raw unicode", "eq(name,héllo wörld)", Expr{cond("name", Eq, "héllo wörld")}},

		// Quoting and escapes.
		{"quoted comma", `eq(name,"a,b")`, Expr{cond("name", Eq, "a,b")}},
		{"quoted paren", `eq(name,"a)b")`, Expr{cond("name", Eq, "a)b")}},
		{"quoted escaped quote", `eq(name,"\"x\"")`, Expr{cond("name", Eq, `"x"`)}},
		{"quoted escaped backslash", `eq(name,"a\\b")`, Expr{cond("name", Eq, `a\b`)}},
		{"quoted all escapes", `eq(name,"\\\"\\")`, Expr{cond("name", Eq, `\"\`)}},
		{"quoted empty", `eq(name,"")`, Expr{cond("name", Eq, "")}},
		{"quoted colon", `eq(name,"a:b"):eq(status,pending)`, Expr{cond("name", Eq, "a:b"), cond("status", Eq, "pending")}},
		{"quoted in mixed", `in(name,"a,b",c,"")`, Expr{cond("name", In, "a,b", "c", "")}},
		{"quoted like", `like(name,"*,*")`, Expr{cond("name", Like, "*,*")}},

		// Limits, at the limit.
		{"100 in values", "in(name," + strings.Join(hundred, ",") + ")", Expr{cond("name", In, hundredValues...)}},
		{"20 conditions", twenty, twentyWant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, testAttrs)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			for _, c := range got {
				for _, v := range c.Values {
					if tv, ok := v.(time.Time); ok && tv.Location() != time.UTC {
						t.Errorf("time value %v not in UTC", tv)
					}
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", 100)
	tooManyIn := "in(name," + strings.TrimSuffix(strings.Repeat("x,", 101), ",") + ")"
	tooManyConds := strings.TrimSuffix(strings.Repeat("eq(name,x):", 21), ":")
	tooLong := "eq(name," + strings.Repeat("a", 4096) + ")"

	tests := []struct {
		name   string
		in     string
		attrs  []Attribute // testAttrs when nil
		detail string
	}{
		// The examples from the API contract.
		{"unknown attribute", "eq(colour,red)", testAttrs[:3],
			`unknown attribute "colour"; allowed: resource_type, resource_id, status`},
		{"unknown operator", "ne(status,pending)", nil,
			`unknown operator "ne" at position 1; allowed: eq, in, like, gt, ge, lt, le`},
		{"like on time", "like(created_at,2026*)", nil,
			`operator "like" is not allowed on attribute "created_at"; it takes eq, in, gt, ge, lt, le`},
		{"bad timestamp", "gt(created_at,yesterday)", nil,
			`value "yesterday" for "created_at" must be an RFC 3339 timestamp, such as 2026-01-02T15:04:05Z`},
		{"bad enum", "eq(status,x)", nil,
			`value "x" for "status" must be one of pending, in_progress, completed`},
		{"missing open paren", "eq[status,x]", nil,
			`expected "(" after "eq" at position 3`},
		{"unterminated quote", `eq(status,"pending`, nil,
			`unterminated quoted value at position 11`},
		{"eq two values", "eq(status,pending,completed)", nil,
			`"eq" takes exactly one value, got 2`},
		{"trailing colon", "eq(status,pending):", nil,
			`unexpected ":" at end of filter`},

		// Names.
		{"unknown operator later", "eq(name,x):neq(name,y)", nil,
			`unknown operator "neq" at position 12; allowed: eq, in, like, gt, ge, lt, le`},
		{"upper-case operator", "EQ(name,x)", nil,
			`unknown operator "EQ" at position 1; allowed: eq, in, like, gt, ge, lt, le`},
		{"upper-case attribute", "eq(Name,x)", nil,
			`unknown attribute "Name"; allowed: resource_type, resource_id, status, created_at, name`},
		{"no attributes declared", "eq(name,x)", []Attribute{},
			`unknown attribute "name"; this resource has no filterable attributes`},
		{"missing operator", "(name,x)", nil, `expected operator at position 1`},
		{"leading colon", ":eq(name,x)", nil, `expected operator at position 1`},
		{"double colon", "eq(name,x)::eq(name,y)", nil, `expected operator at position 12`},
		{"space before operator", " eq(name,x)", nil, `expected operator at position 1`},
		{"operator only", "eq", nil, `expected "(" after "eq" at end of filter`},
		{"space after operator", "eq (name,x)", nil, `expected "(" after "eq" at position 3`},
		{"missing attribute", "eq(,x)", nil, `expected attribute name at position 4`},
		{"empty parens", "eq()", nil, `expected attribute name at position 4`},
		{"space before attribute", "eq( name,x)", nil, `expected attribute name at position 4`},
		{"open paren only", "eq(", nil, `expected attribute name at end of filter`},
		{"no value", "eq(name)", nil, `expected "," after "name" at position 8`},
		{"space after attribute", "eq(name ,x)", nil, `expected "," after "name" at position 8`},
		{"attribute then end", "eq(name", nil, `expected "," after "name" at end of filter`},
		{"in without value", "in(status)", nil, `expected "," after "status" at position 10`},

		// Operator and kind.
		{"like on enum", "like(status,p*)", nil, `operator "like" is not allowed on attribute "status"; it takes eq, in`},
		{"gt on enum", "gt(status,pending)", nil, `operator "gt" is not allowed on attribute "status"; it takes eq, in`},
		{"lt on uuid", "lt(resource_id,0f850c15-d643-480a-a2b4-9e3c26067178)", nil,
			`operator "lt" is not allowed on attribute "resource_id"; it takes eq, in`},
		{"like on uuid", "like(resource_id,0f850c15*)", nil, `operator "like" is not allowed on attribute "resource_id"; it takes eq, in`},

		// Values.
		{"empty value", "eq(name,)", nil, `empty value for "name" at position 9; write "" to match an empty string`},
		{"empty in value", "in(status,pending,)", nil, `empty value for "status" at position 19; write "" to match an empty string`},
		{"empty first in value", "in(status,,pending)", nil, `empty value for "status" at position 11; write "" to match an empty string`},
		{"value then end", "eq(name,", nil, `expected value at end of filter`},
		{"raw value then end", "eq(name,abc", nil, `expected "," or ")" at end of filter`},
		{"in value then end", "in(name,a,", nil, `expected value at end of filter`},
		{"quoted then end", `eq(name,"abc"`, nil, `expected "," or ")" at end of filter`},
		{"text after quote", `eq(name,"abc"d)`, nil, `expected "," or ")" after quoted value at position 14`},
		{"space after quote", `eq(name,"abc" )`, nil, `expected "," or ")" after quoted value at position 14`},
		{"bad escape", `eq(name,"a\nb")`, nil, `invalid escape at position 11; only \" and \\ are allowed in a quoted value`},
		{"bad unicode escape", `eq(name,"\é")`, nil, `invalid escape at position 10; only \" and \\ are allowed in a quoted value`},
		{"backslash at end", `eq(name,"a\`, nil, `unterminated quoted value at position 9`},
		{"escaped closing quote", `eq(name,"a\")`, nil, `unterminated quoted value at position 9`},
		{"eq three values", "eq(name,a,b,c)", nil, `"eq" takes exactly one value, got 3`},
		{"like two values", "like(name,a*,b*)", nil, `"like" takes exactly one value, got 2`},
		{"gt two values", "gt(created_at,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z)", nil, `"gt" takes exactly one value, got 2`},
		{"eq surplus values not converted", "eq(created_at,2026-01-01T00:00:00Z,yesterday)", nil, `"eq" takes exactly one value, got 2`},
		{"date only", "gt(created_at,2026-01-01)", nil, `value "2026-01-01" for "created_at" must be an RFC 3339 timestamp, such as 2026-01-02T15:04:05Z`},
		{"time without zone", "gt(created_at,2026-01-01T00:00:00)", nil,
			`value "2026-01-01T00:00:00" for "created_at" must be an RFC 3339 timestamp, such as 2026-01-02T15:04:05Z`},
		{"time bad month", "gt(created_at,2026-13-01T00:00:00Z)", nil,
			`value "2026-13-01T00:00:00Z" for "created_at" must be an RFC 3339 timestamp, such as 2026-01-02T15:04:05Z`},
		{"time with space", "gt(created_at, 2026-01-01T00:00:00Z)", nil,
			`value " 2026-01-01T00:00:00Z" for "created_at" must be an RFC 3339 timestamp, such as 2026-01-02T15:04:05Z`},
		{"empty quoted time", `eq(created_at,"")`, nil, `value "" for "created_at" must be an RFC 3339 timestamp, such as 2026-01-02T15:04:05Z`},
		{"enum is case-sensitive", "eq(status,Pending)", nil,
			`value "Pending" for "status" must be one of pending, in_progress, completed`},
		{"bad enum in in", "in(status,pending,done)", nil,
			`value "done" for "status" must be one of pending, in_progress, completed`},
		{"bad uuid", "eq(resource_id,not-a-uuid)", nil,
			`value "not-a-uuid" for "resource_id" must be a UUID (8-4-4-4-12 hex digits)`},
		{"uuid without dashes", "eq(resource_id,0f850c15d643480aa2b49e3c26067178)", nil,
			`value "0f850c15d643480aa2b49e3c26067178" for "resource_id" must be a UUID (8-4-4-4-12 hex digits)`},
		{"uuid with braces", "eq(resource_id,{0f850c15-d643-480a-a2b4-9e3c26067178})", nil,
			`value "{0f850c15-d643-480a-a2b4-9e3c26067178}" for "resource_id" must be a UUID (8-4-4-4-12 hex digits)`},
		{"uuid non-hex", "eq(resource_id,0f850c15-d643-480a-a2b4-9e3c2606717g)", nil,
			`value "0f850c15-d643-480a-a2b4-9e3c2606717g" for "resource_id" must be a UUID (8-4-4-4-12 hex digits)`},
		{"long value shortened", "eq(status," + long + ")", nil,
			`value "` + long[:64] + `"... for "status" must be one of pending, in_progress, completed`},

		// After a condition.
		{"trailing space", "eq(name,x) ", nil, `expected ":" after ")" at position 11`},
		{"missing colon", "eq(name,x)eq(name,y)", nil, `expected ":" after ")" at position 11`},
		{"extra paren", "eq(name,x))", nil, `expected ":" after ")" at position 11`},
		{"comma joiner", "eq(name,x),eq(name,y)", nil, `expected ":" after ")" at position 11`},
		{"positions count characters", "eq(name,é)x", nil, `expected ":" after ")" at position 11`},
		{"positions count characters in escape", `eq(name,ü):eq(name,"a\x")`, nil,
			`invalid escape at position 22; only \" and \\ are allowed in a quoted value`},
		{"non-ASCII operator", "eq(name,ü):ëq(name,x)", nil,
			`unknown operator "ëq" at position 12; allowed: eq, in, like, gt, ge, lt, le`},
		{"non-ASCII attribute", "eq(näme,x)", nil,
			`unknown attribute "näme"; allowed: resource_type, resource_id, status, created_at, name`},

		// Limits and encoding.
		{"too long", tooLong, nil, `filter is 4105 bytes long; at most 4096 are allowed`},
		{"too many conditions", tooManyConds, nil, `too many conditions; at most 20 are allowed`},
		{"too many in values", tooManyIn, nil, `too many values for "in"; at most 100 are allowed`},
		{"invalid utf-8", "eq(name,\xff)", nil, `filter is not valid UTF-8`},
		{"invalid utf-8 quoted", "eq(name,\"\xc3\")", nil, `filter is not valid UTF-8`},
		{"NUL", "eq(name,a\x00b)", nil, `value "a\x00b" for "name" must be valid UTF-8 text without the character U+0000`},
		{"time before year 1", "gt(created_at,0001-01-01T00:30:00+01:00)", nil,
			`value "0001-01-01T00:30:00+01:00" for "created_at" must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once its offset is applied`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := tt.attrs
			if attrs == nil {
				attrs = testAttrs
			}
			got, err := Parse(tt.in, attrs)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want error %q", tt.in, got, tt.detail)
			}
			if got != nil {
				t.Errorf("Parse(%q) returned %#v alongside its error", tt.in, got)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%q) error %T is not a *Error", tt.in, err)
			}
			if fe.Detail != tt.detail {
				t.Errorf("Parse(%q) detail\n got %s\nwant %s", tt.in, fe.Detail, tt.detail)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse("ne(status,pending)", testAttrs)
	want := `invalid filter: unknown operator "ne" at position 1; allowed: eq, in, like, gt, ge, lt, le`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// format writes e back in filter syntax, quoting every value, so a fuzzed
// success can be checked to parse again to the same Expr.
func format(e Expr) string {
	var b strings.Builder
	for i, c := range e {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%s(%s", c.Op, c.Attribute)
		for _, v := range c.Values {
			s, ok := v.(string)
			if !ok {
				s = v.(time.Time).Format(time.RFC3339Nano)
			}
			s = strings.ReplaceAll(s, `\`, `\\`)
			s = strings.ReplaceAll(s, `"`, `\"`)
			fmt.Fprintf(&b, `,"%s"`, s)
		}
		b.WriteByte(')')
	}
	return b.String()
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		apiExample,
		"eq(name,alice)",
		"in(name,alice,bob)",
		"like(name,*li*)",
		"gt(name,m):ge(name,a):lt(name,z):le(name,y)",
		"gt(created_at,2026-01-01T00:00:00Z)",
		"eq(created_at,2026-01-01T02:30:00.5+02:00)",
		"in(created_at,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z)",
		`gt(created_at,"2026-01-01T00:00:00Z")`,
		"in(status,pending,in_progress,completed)",
		"eq(resource_id,0F850C15-D643-480A-A2B4-9E3C26067178)",
		`eq(name,"a,b)\"\\")`,
		`in(name,"",x,"y")`,
		`eq(name,a"b)`,
		"eq(name,a b: c )",
		"eq(name,héllo)",
		// Invalid.
		"eq(colour,red)",
		"ne(status,pending)",
		"like(created_at,2026*)",
		"gt(created_at,yesterday)",
		"eq(status,x)",
		"eq[status,x]",
		`eq(status,"pending`,
		"eq(status,pending,completed)",
		"eq(status,pending):",
		"eq(name,)",
		`eq(name,"a\nb")`,
		`eq(name,"a\`,
		`eq(name,"abc"d)`,
		"eq(name,x)::eq(name,y)",
		"eq( name,x)",
		"eq(name,\xff)",
		"eq(name,é)x",
		strings.TrimSuffix(strings.Repeat("eq(name,x):", 21), ":"),
		"in(name," + strings.TrimSuffix(strings.Repeat("x,", 101), ",") + ")",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		expr, err := Parse(s, testAttrs)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Detail == "" {
				t.Fatalf("Parse(%q) error %#v is not a *Error with a detail", s, err)
			}
			if expr != nil {
				t.Fatalf("Parse(%q) returned %#v alongside its error", s, expr)
			}
			return
		}
		if s == "" {
			if expr != nil {
				t.Fatalf("Parse(\"\") = %#v, want nil", expr)
			}
			return
		}
		if !utf8.ValidString(s) || len(s) > maxLength {
			t.Fatalf("Parse(%q) accepted invalid UTF-8 or an over-long filter", s)
		}
		if len(expr) == 0 || len(expr) > maxConditions {
			t.Fatalf("Parse(%q) returned %d conditions", s, len(expr))
		}
		for _, c := range expr {
			checkCondition(t, s, c)
		}

		again := format(expr)
		if len(again) > maxLength {
			return // quoting can lengthen a filter past the limit
		}
		expr2, err := Parse(again, testAttrs)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its reformatting %q failed: %v", s, again, err)
		}
		if !reflect.DeepEqual(expr, expr2) {
			t.Fatalf("Parse(%q) = %#v\nbut reformatted %q gives %#v", s, expr, again, expr2)
		}
	})
}

func checkCondition(t *testing.T, s string, c Condition) {
	t.Helper()
	i := slices.IndexFunc(testAttrs, func(a Attribute) bool { return a.Name == c.Attribute })
	if i < 0 {
		t.Fatalf("Parse(%q): unknown attribute %q accepted", s, c.Attribute)
	}
	a := testAttrs[i]
	if !slices.Contains(a.Ops, c.Op) {
		t.Fatalf("Parse(%q): operator %q accepted on %q", s, c.Op, c.Attribute)
	}
	if c.Op == In {
		if len(c.Values) < 1 || len(c.Values) > maxInValues {
			t.Fatalf("Parse(%q): in with %d values", s, len(c.Values))
		}
	} else if len(c.Values) != 1 {
		t.Fatalf("Parse(%q): %s with %d values", s, c.Op, len(c.Values))
	}
	for _, v := range c.Values {
		// Every value is what the attribute's Parse makes of the text it came as.
		text, ok := v.(string)
		if tv, isTime := v.(time.Time); isTime {
			text, ok = tv.Format(time.RFC3339Nano), tv.Location() == time.UTC
		}
		if !ok {
			t.Fatalf("Parse(%q): %s value %#v is neither a string nor a UTC time.Time", s, a.Name, v)
		}
		if again, err := a.Parse(text); err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("Parse(%q): %s value %#v is not what the attribute reads (%#v, %v)", s, a.Name, v, again, err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(apiExample, testAttrs); err != nil {
			b.Fatal(err)
		}
	}
}
