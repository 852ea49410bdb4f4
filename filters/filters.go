// Package filters parses the JSON:API `filter` query parameter of list
// endpoints into a small typed AST.
//
// The syntax is OP(attribute,value[,value...]) terms joined by ':' (AND), for
// example `eq(resource_type,account):gt(created_at,2026-01-01T00:00:00Z)`.
// Parse checks every term against the attributes a resource type declares, so
// an Expr it returns holds only known attributes, operators those attributes
// take, and values already read by their attribute (Attribute.Parse).
//
// The package owns syntax only. It never builds SQL, never touches a database
// and knows nothing about HTTP: the HTTP layer turns a *Error into a 400 with
// source.parameter "filter", and storage turns an Expr into SQL with every value
// bound as a parameter. What values an attribute takes is its declaration's
// business (the resource type's table), not this package's.
package filters

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Attribute is one filterable attribute of a resource type. Name must be a
// lower-case identifier ([a-z_]+); other names can never be matched.
type Attribute struct {
	Name string
	// Ops are the operators the attribute takes.
	Ops []Op
	// Parse reads one value written for the attribute. Its error says, for the
	// client, what the value must be ("must be ...").
	Parse func(string) (any, error)
}

// Op is a filter operator.
type Op string

const (
	Eq   Op = "eq"
	In   Op = "in"
	Like Op = "like"
	Gt   Op = "gt"
	Ge   Op = "ge"
	Lt   Op = "lt"
	Le   Op = "le"
)

// ops lists every operator in the order error messages present them. It is
// only ever read.
var ops = []Op{Eq, In, Like, Gt, Ge, Lt, Le}

// Condition is one OP(attribute,value...) term. Values holds what the attribute's Parse
// returned. eq/like/gt/ge/lt/le have exactly one value; in has one or more; like has a
// string, where * is the wildcard.
type Condition struct {
	Attribute string
	Op        Op
	Values    []any
}

// Expr is the AND of its conditions, in the order written. The zero value (nil) matches everything.
type Expr []Condition

// Limits that keep a hostile filter from costing the server (or the
// database, which sees one bound parameter per value) much work.
const (
	maxLength     = 4096 // bytes
	maxConditions = 20
	maxInValues   = 100
	maxEcho       = 64 // runes of user input quoted back in an error
)

// Error is a filter the client got wrong. Detail is written for the client and
// says what is wrong and, where it helps, where.
type Error struct{ Detail string }

func (e *Error) Error() string { return "invalid filter: " + e.Detail }

func errorf(format string, args ...any) error {
	return &Error{Detail: fmt.Sprintf(format, args...)}
}

// Parse parses s against attrs. An empty s returns (nil, nil).
// On failure it returns a *Error whose Detail says precisely what is wrong.
// Positions in details are 1-based character offsets into s.
func Parse(s string, attrs []Attribute) (Expr, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxLength {
		return nil, errorf("filter is %d bytes long; at most %d are allowed", len(s), maxLength)
	}
	// Checked up front so that positions can be counted in characters and
	// every value handed on is valid text.
	if !utf8.ValidString(s) {
		return nil, errorf("filter is not valid UTF-8")
	}

	p := parser{s: s, attrs: attrs}
	// Timestamps contain ':' too, so this over-estimates; it still saves the
	// regrowth of the common case and is capped by the condition limit.
	expr := make(Expr, 0, min(strings.Count(s, ":")+1, maxConditions))
	for {
		if len(expr) == maxConditions {
			return nil, errorf("too many conditions; at most %d are allowed", maxConditions)
		}
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		expr = append(expr, c)
		if p.eof() {
			return expr, nil
		}
		if !p.consume(':') {
			return nil, p.expected(`":" after ")"`)
		}
		if p.eof() {
			return nil, errorf(`unexpected ":" at end of filter`)
		}
	}
}

// parser is an index scanner over one filter string; i is a byte offset.
type parser struct {
	s     string
	i     int
	attrs []Attribute
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

func (p *parser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// pos converts byte offset i into the 1-based character position clients see.
func (p *parser) pos(i int) int { return utf8.RuneCountInString(p.s[:i]) + 1 }

func (p *parser) expected(what string) error {
	if p.eof() {
		return errorf("expected %s at end of filter", what)
	}
	return errorf("expected %s at position %d", what, p.pos(p.i))
}

// name scans an operator or attribute name. It accepts more than the
// grammar's [a-z_]+ so that "EQ", "status2" or "stätus" is reported as an
// unknown name rather than as a confusing complaint about the character after
// a valid prefix. Bytes >= 0x80 keep whole runes, as s is valid UTF-8.
func (p *parser) name() string {
	start := p.i
	for p.i < len(p.s) && isNameByte(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c >= utf8.RuneSelf
}

func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || c == '_') {
			return false
		}
	}
	return s != ""
}

func (p *parser) condition() (Condition, error) {
	start := p.i
	name := p.name()
	if name == "" {
		return Condition{}, p.expected("operator")
	}
	op := Op(name)
	if !slices.Contains(ops, op) {
		return Condition{}, errorf("unknown operator %s at position %d; allowed: %s", quote(name), p.pos(start), opList(ops))
	}
	if !p.consume('(') {
		return Condition{}, p.expected(fmt.Sprintf(`"(" after %q`, name))
	}

	name = p.name()
	if name == "" {
		return Condition{}, p.expected("attribute name")
	}
	attr, err := p.attribute(name)
	if err != nil {
		return Condition{}, err
	}
	if !slices.Contains(attr.Ops, op) {
		return Condition{}, errorf("operator %q is not allowed on attribute %q; it takes %s", op, attr.Name, opList(attr.Ops))
	}
	if !p.consume(',') {
		return Condition{}, p.expected(fmt.Sprintf(`"," after %q`, name))
	}

	c := Condition{Attribute: attr.Name, Op: op}
	if op != In {
		c.Values = make([]any, 0, 1)
	}
	n := 0 // values written, which for a single-value op may exceed len(c.Values)
	for {
		if op == In && n == maxInValues {
			return Condition{}, errorf("too many values for %q; at most %d are allowed", In, maxInValues)
		}
		raw, err := p.value(attr)
		if err != nil {
			return Condition{}, err
		}
		n++
		// Surplus values of a single-value op are only scanned, so the arity
		// error wins over their type errors and costs no conversions.
		if op == In || n == 1 {
			v, err := convert(attr, raw)
			if err != nil {
				return Condition{}, err
			}
			c.Values = append(c.Values, v)
		}
		if p.consume(')') {
			break
		}
		if !p.consume(',') {
			return Condition{}, p.expected(`"," or ")"`)
		}
	}
	if op != In && n != 1 {
		return Condition{}, errorf("%q takes exactly one value, got %d", op, n)
	}
	return c, nil
}

func (p *parser) attribute(name string) (Attribute, error) {
	if isIdent(name) {
		for _, a := range p.attrs {
			if a.Name == name {
				return a, nil
			}
		}
	}
	if len(p.attrs) == 0 {
		return Attribute{}, errorf("unknown attribute %s; this resource has no filterable attributes", quote(name))
	}
	names := make([]string, len(p.attrs))
	for i, a := range p.attrs {
		names[i] = a.Name
	}
	return Attribute{}, errorf("unknown attribute %s; allowed: %s", quote(name), strings.Join(names, ", "))
}

func opList(ops []Op) string {
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}

// value scans one raw or quoted value and leaves p.i on the ',' or ')' that
// follows it (or at the end of s, which the caller reports).
func (p *parser) value(attr Attribute) (string, error) {
	if p.eof() {
		return "", p.expected("value")
	}
	if p.s[p.i] == '"' {
		return p.quoted()
	}
	start := p.i
	n := strings.IndexAny(p.s[start:], ",)")
	if n < 0 {
		n = len(p.s) - start
	}
	if n == 0 {
		// An empty raw value is far more likely a typo than a wish to match
		// the empty string, which is why that has to be spelled "".
		return "", errorf(`empty value for %q at position %d; write "" to match an empty string`, attr.Name, p.pos(start))
	}
	p.i += n
	return p.s[start:p.i], nil
}

// quoted scans a value in double quotes, where \" and \\ are the only escapes.
func (p *parser) quoted() (string, error) {
	open := p.i
	p.i++
	seg := p.i   // start of the text not yet copied into b
	var b []byte // stays nil, and the value a substring of s, unless there are escapes
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			v := p.s[seg:p.i]
			if b != nil {
				v = string(append(b, v...))
			}
			p.i++
			if !p.eof() && p.s[p.i] != ',' && p.s[p.i] != ')' {
				return "", p.expected(`"," or ")" after quoted value`)
			}
			return v, nil
		case '\\':
			if p.i+1 >= len(p.s) {
				p.i = len(p.s)
				continue
			}
			e := p.s[p.i+1]
			if e != '"' && e != '\\' {
				// The escaped character is not echoed: it may be a control
				// character, and the position already points at it.
				return "", errorf(`invalid escape at position %d; only \" and \\ are allowed in a quoted value`, p.pos(p.i))
			}
			b = append(b, p.s[seg:p.i]...)
			b = append(b, e)
			p.i += 2
			seg = p.i
		default:
			p.i++
		}
	}
	return "", errorf("unterminated quoted value at position %d", p.pos(open))
}

// convert reads v with attr's Parse.
func convert(attr Attribute, v string) (any, error) {
	out, err := attr.Parse(v)
	if err != nil {
		return nil, errorf("value %s for %q %v", quote(v), attr.Name, err)
	}
	return out, nil
}

// quote quotes client input for an error detail, shortened so that a long
// value cannot make the response large.
func quote(s string) string {
	if utf8.RuneCountInString(s) <= maxEcho {
		return strconv.Quote(s)
	}
	i, n := 0, 0
	for n < maxEcho {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return strconv.Quote(s[:i]) + "..."
}
