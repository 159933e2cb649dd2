package state

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// decoder reads JSON text into this package's types without encoding/json
// (encode.go says why). It takes what json.Unmarshal takes and gives the
// same value (decode_test.go's FuzzParse holds it to that): members in any
// order, unknown ones skipped, names matched as encoding/json matches them
// (exactly, else case-insensitively), null leaving a string, number or bool
// as it was and making a pointer, map or slice nil, a repeated member
// decoded over the first. Anything else is an error, never a panic.
type decoder struct {
	b     []byte
	i     int
	depth int
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

var errEnd = errors.New("unexpected end of JSON input")

// decode runs value over all of b, which must hold nothing after it but
// white space.
func decode(b []byte, value func(d *decoder) error) error {
	d := &decoder{b: b}
	if err := value(d); err != nil {
		return err
	}
	d.ws()
	if d.i < len(d.b) {
		return d.fail("after the top-level value")
	}
	return nil
}

// fail says what is wrong where: the byte met, or the end of the text.
func (d *decoder) fail(what string) error {
	if d.i >= len(d.b) {
		return errEnd
	}
	return fmt.Errorf("invalid character %q at offset %d %s", d.b[d.i], d.i, what)
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek is the next byte after white space, 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// literal reads the word (true, false, null) when it comes next.
func (d *decoder) literal(word string) bool {
	if d.peek() != word[0] || len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return false
	}
	d.i += len(word)
	return true
}

func (d *decoder) null() bool { return d.literal("null") }

// object reads an object, calling member after each name with the text at
// its value, which member must read.
func (d *decoder) object(member func(name string) error) error {
	return d.items('{', '}', func(int) error {
		if d.peek() != '"' {
			return d.fail("where an object's member name begins")
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return d.fail("after a member name")
		}
		d.i++
		return member(name)
	})
}

// array reads an array, calling elem with each element's index and the
// text at it, which elem must read.
func (d *decoder) array(elem func(i int) error) error { return d.items('[', ']', elem) }

// items reads an object's members or an array's elements, each with item,
// between open and end.
func (d *decoder) items(open, end byte, item func(i int) error) error {
	if d.peek() != open {
		return d.fail(fmt.Sprintf("where %c begins the value", open))
	}
	if d.depth++; d.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	d.i++
	if d.peek() == end {
		d.i++
		d.depth--
		return nil
	}
	for i := 0; ; i++ {
		if err := item(i); err != nil {
			return err
		}
		if done, err := d.after(end); done || err != nil {
			return err
		}
	}
}

// after reads what follows a member or an element: a comma, or the end.
func (d *decoder) after(end byte) (done bool, err error) {
	switch d.peek() {
	case ',':
		d.i++
		return false, nil
	case end:
		d.i++
		d.depth--
		return true, nil
	}
	return false, d.fail(fmt.Sprintf("after a value (want , or %c)", end))
}

// decodePtr decodes into *p, made when nil (encoding/json decodes into
// the struct a pointer already points to); null makes it nil.
func decodePtr[T any, P interface {
	*T
	decode(*decoder) error
}](d *decoder, p **T) error {
	if d.null() {
		*p = nil
		return nil
	}
	if *p == nil {
		*p = new(T)
	}
	return P(*p).decode(d)
}

// decodeSlice decodes an array as encoding/json does into a slice: into
// the elements the slice already has room for (a repeated member decodes
// over them), an empty array as an empty, non-nil slice, null as nil.
func decodeSlice[T any](d *decoder, p *[]T, elem func(*T) error) error {
	if d.null() {
		*p = nil
		return nil
	}
	s, n := *p, 0
	err := d.array(func(i int) error {
		if i < cap(s) {
			s = s[:i+1]
		} else {
			s = append(s, *new(T))
		}
		n = i + 1
		return elem(&s[i])
	})
	switch {
	case err != nil:
	case n == 0:
		s = []T{}
	default:
		s = s[:n]
	}
	*p = s
	return err
}

// strMap decodes an object of strings; null makes the map nil.
func (d *decoder) strMap(p *map[string]string) error {
	if d.null() {
		*p = nil
		return nil
	}
	if *p == nil {
		*p = map[string]string{}
	}
	return d.object(func(key string) error {
		var v string // null: "", as encoding/json stores a map's element
		if err := d.setStr(&v); err != nil {
			return err
		}
		(*p)[key] = v
		return nil
	})
}

// skip reads any value: an unknown member's.
func (d *decoder) skip() error {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func(string) error { return d.skip() })
	case c == '[':
		return d.array(func(int) error { return d.skip() })
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := d.number()
		return err
	case d.literal("true"), d.literal("false"), d.null():
		return nil
	}
	return d.fail("where a value begins")
}

// number reads a number's text, checked against JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() (string, error) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	if d.at('0') {
		d.i++
	} else if !d.digits() {
		return "", d.fail("in a number")
	}
	if d.at('.') {
		d.i++
		if !d.digits() {
			return "", d.fail("after a number's decimal point")
		}
	}
	if d.at('e') || d.at('E') {
		d.i++
		if d.at('+') || d.at('-') {
			d.i++
		}
		if !d.digits() {
			return "", d.fail("in a number's exponent")
		}
	}
	return string(d.b[start:d.i]), nil
}

func (d *decoder) at(c byte) bool { return d.i < len(d.b) && d.b[d.i] == c }

// digits reads [0-9]+.
func (d *decoder) digits() bool {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// str reads a string as encoding/json unquotes it: escapes decoded, a
// lone or broken UTF-16 surrogate and each byte of invalid UTF-8 made
// U+FFFD; a control character or an unknown escape is an error.
func (d *decoder) str() (string, error) {
	if d.peek() != '"' {
		return "", d.fail("where a string begins")
	}
	d.i++
	start := d.i
	var out []byte // nil while the text needs no change
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if out == nil {
				return string(d.b[start : d.i-1]), nil
			}
			return string(out), nil
		case c < ' ':
			return "", d.fail("in a string")
		case c == '\\':
			if out == nil {
				out = append([]byte{}, d.b[start:d.i]...)
			}
			var err error
			if out, err = d.escape(out); err != nil {
				return "", err
			}
		case c < utf8.RuneSelf:
			if out != nil {
				out = append(out, c)
			}
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 && out == nil {
				out = append([]byte{}, d.b[start:d.i]...)
			}
			if out != nil {
				out = utf8.AppendRune(out, r)
			}
			d.i += size
		}
	}
	return "", errEnd
}

// escape decodes the escape at d.i (a backslash) onto out.
func (d *decoder) escape(out []byte) ([]byte, error) {
	d.i++
	if d.i >= len(d.b) {
		return nil, errEnd
	}
	c := d.b[d.i]
	d.i++
	switch c {
	case '"', '\\', '/':
		return append(out, c), nil
	case 'b':
		return append(out, '\b'), nil
	case 'f':
		return append(out, '\f'), nil
	case 'n':
		return append(out, '\n'), nil
	case 'r':
		return append(out, '\r'), nil
	case 't':
		return append(out, '\t'), nil
	case 'u':
		r, err := d.hex4()
		if err != nil {
			return nil, err
		}
		if utf16.IsSurrogate(r) {
			// A pair takes the next \uXXXX only when it completes it.
			save := d.i
			if d.at('\\') && d.i+1 < len(d.b) && d.b[d.i+1] == 'u' {
				d.i += 2
				if r2, err := d.hex4(); err == nil && utf16.DecodeRune(r, r2) != utf8.RuneError {
					return utf8.AppendRune(out, utf16.DecodeRune(r, r2)), nil
				}
			}
			d.i, r = save, utf8.RuneError
		}
		return utf8.AppendRune(out, r), nil
	}
	d.i--
	return nil, d.fail("in a string escape")
}

// hex4 reads the four hex digits of a \u escape.
func (d *decoder) hex4() (rune, error) {
	var r rune
	for range 4 {
		if d.i >= len(d.b) {
			return 0, errEnd
		}
		c := d.b[d.i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, d.fail("in a \\u escape")
		}
		r = r<<4 | rune(c)
		d.i++
	}
	return r, nil
}
