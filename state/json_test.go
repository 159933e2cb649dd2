package state

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	"reflect"
	"testing"
)

// The hand-written encoder and decoder against encoding/json, the format's
// reference: the init links neither encoding/json nor reflection over
// these types, the tests do. NaN and ±Inf are left out of the random
// values: nothing the init measures is one (encoding/json refuses them,
// and the encoder writes null).

// oddStrings are the pieces random strings are made of: what JSON must
// escape, what encoding/json escapes by choice (<, >, &, U+2028, U+2029),
// invalid UTF-8 (each byte becomes \ufffd) and valid non-ASCII.
var oddStrings = []string{"", "a", "/dev/sr0", `"`, `\`, "/", "\x00", "\x01", "\b", "\f", "\n", "\r", "\t", "\x1f", "\x7f",
	"<", ">", "&", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "é", "日本",
	"🙂", "\ufffd", "\u00a0", " ", "sandbox.name", "0 100 snapshot 7:1 1:0 N 8"}

func randString(r *rand.Rand) string {
	var b []byte
	for range r.Intn(5) {
		b = append(b, oddStrings[r.Intn(len(oddStrings))]...)
	}
	return string(b)
}

// randFloat covers both of encoding/json's float formats and the edge
// between them (1e-6, 1e21), negative zero, integers and fractions.
func randFloat(r *rand.Rand) float64 {
	switch r.Intn(8) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return float64(r.Intn(100000))
	case 3:
		return []float64{1e-6, 9.99999e-7, 1e21, 9.99999e20, 1e-7, 5e-324, math.MaxFloat64, 1e20}[r.Intn(8)]
	case 4:
		return r.NormFloat64() * math.Pow(10, float64(r.Intn(60)-30))
	case 5:
		return math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.Intn(0x7ff))<<52) // any finite
	}
	return r.Float64() * 1000
}

func randUint(r *rand.Rand) uint64 {
	switch r.Intn(3) {
	case 0:
		return 0
	case 1:
		return uint64(r.Intn(1000))
	}
	return r.Uint64()
}

func randInt(r *rand.Rand) int { return []int{0, 1, -1, r.Int(), -r.Int()}[r.Intn(5)] }

// maybe is s half the time, else "" (an omitempty field's two states).
func maybe(r *rand.Rand, s string) string {
	if r.Intn(2) == 0 {
		return ""
	}
	return s
}

func randState(r *rand.Rand) State {
	s := State{CD: maybe(r, randString(r)), CDMount: maybe(r, randString(r)), Loop: maybe(r, randString(r)),
		Container: maybe(r, randString(r)), ContainerLoop: maybe(r, randString(r)), ISODisk: maybe(r, randString(r)),
		ISOLoop: maybe(r, randString(r)), ImageInRAM: maybe(r, randString(r)), GrownBase: maybe(r, randString(r)),
		CDReleased: r.Intn(2) == 0, VerityOff: maybe(r, randString(r)), Origin: randString(r), COW: randString(r),
		COWBytes: randUint(r), Device: randString(r), DMMinor: uint32(randUint(r)), Table: randString(r),
		FSType: randString(r), RootFreeBytes: randUint(r), Watcher: randInt(r)}
	if r.Intn(4) > 0 {
		s.Params = map[string]string{}
		for range r.Intn(6) {
			s.Params[randString(r)] = randString(r)
		}
	}
	if r.Intn(2) == 0 {
		s.Verity = &Verity{RootHash: randString(r), HashTree: randString(r), Device: randString(r), DataBlocks: randUint(r),
			BlockSize: uint32(randUint(r)), OnCorrupt: randString(r), Unverified: maybe(r, randString(r))}
	}
	if r.Intn(2) == 0 {
		s.Net = &Net{Iface: randString(r), MAC: randString(r), Address: randString(r), Gateway: maybe(r, randString(r)),
			Server: maybe(r, randString(r)), URL: maybe(r, randString(r))}
	}
	if r.Intn(2) == 0 {
		s.NBD = randNBD(r)
	}
	if r.Intn(2) == 0 {
		s.BootChain = &BootChain{UEFI: r.Intn(2) == 0, SecureBoot: randString(r), Lockdown: maybe(r, randString(r)),
			Stub: maybe(r, randString(r)), CmdlineSigned: r.Intn(2) == 0}
	}
	if r.Intn(4) > 0 {
		s.Phases = []Phase{}
		for range r.Intn(4) {
			s.Phases = append(s.Phases, Phase{Name: randString(r), Millis: randFloat(r)})
		}
	}
	return s
}

func randNBD(r *rand.Rand) *NBD {
	return &NBD{URL: randString(r), Server: randString(r), Export: randString(r), Device: randString(r), Size: randUint(r), DeadConn: randInt(r)}
}

func randUsage(r *rand.Rand) Usage {
	u := Usage{UsedSectors: randUint(r), TotalSectors: randUint(r), MetadataSectors: randUint(r), Percent: randFloat(r),
		Invalid: r.Intn(2) == 0, InvalidCause: maybe(r, randString(r)), Overflow: r.Intn(2) == 0, Uptime: randFloat(r),
		VerityCorrupted: r.Intn(2) == 0}
	switch r.Intn(3) {
	case 0:
		u.VerityBlocks = []string{} // omitempty leaves an empty slice out as it does nil
	case 1:
		for range 1 + r.Intn(3) {
			u.VerityBlocks = append(u.VerityBlocks, randString(r))
		}
	}
	return u
}

// TestJSONIsEncodingJSONs: what the init writes is byte for byte what
// encoding/json wrote before (json.MarshalIndent for state.json,
// json.Marshal for usage.json and the NBD note).
func TestJSONIsEncodingJSONs(t *testing.T) {
	r := rand.New(rand.NewSource(24))
	same := func(what string, v any, got []byte, indent bool) {
		t.Helper()
		want, err := json.Marshal(v)
		if indent {
			want, err = json.MarshalIndent(v, "", "  ")
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s %#v written as\n%s\nencoding/json writes\n%s", what, v, got, want)
		}
	}
	for _, s := range []State{{}, full} {
		same("State", &s, s.JSON(), true)
	}
	same("nil NBD", (*NBD)(nil), (*NBD)(nil).JSON(), false)
	same("Usage", &fullUsage, fullUsage.JSON(), false)
	for range 3000 {
		s, u, n := randState(r), randUsage(r), randNBD(r)
		same("State", &s, s.JSON(), true)
		same("Usage", &u, u.JSON(), false)
		same("NBD", n, n.JSON(), false)
	}
}

// TestParseReadsWhatIsWritten: the decoder gives back what encoding/json
// decodes from the encoder's text (the value written, except that
// invalid UTF-8 became U+FFFD).
func TestParseReadsWhatIsWritten(t *testing.T) {
	r := rand.New(rand.NewSource(2024))
	for range 3000 {
		s, u, n := randState(r), randUsage(r), randNBD(r)
		agree(t, s.JSON())
		agree(t, u.JSON())
		agree(t, n.JSON())
		if got, err := Parse(append(s.JSON(), '\n')); err != nil || (validStrings(s) && !reflect.DeepEqual(got, s)) {
			t.Fatalf("state.json of %#v read back as %#v (%v)", s, got, err)
		}
	}
}

// validStrings tells whether s's strings are all valid UTF-8, so that its
// JSON reads back as s itself.
func validStrings(s State) bool {
	b, _ := json.Marshal(s)
	return !bytes.Contains(b, []byte(`\ufffd`))
}

// agree checks that Parse, ParseUsage and ParseNBD accept b exactly when
// json.Unmarshal does, and decode it to the same value.
func agree(t *testing.T, b []byte) {
	t.Helper()
	check := func(what string, got, want any, err, werr error) {
		t.Helper()
		if (err == nil) != (werr == nil) || (err == nil && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%s of %q: got %#v (%v), encoding/json %#v (%v)", what, b, got, err, want, werr)
		}
	}
	st, err := Parse(b)
	var wst State
	werr := json.Unmarshal(b, &wst)
	check("Parse", st, wst, err, werr)
	u, err := ParseUsage(b)
	var wu Usage
	werr = json.Unmarshal(b, &wu)
	check("ParseUsage", u, wu, err, werr)
	n, err := ParseNBD(b)
	var wn NBD
	werr = json.Unmarshal(b, &wn)
	check("ParseNBD", n, wn, err, werr)
}

// TestParseOddInput: what encoding/json takes in ways the encoder never
// writes (escapes, surrogates, repeated members, case-insensitive names,
// null), and what it refuses.
func TestParseOddInput(t *testing.T) {
	for _, s := range []string{
		`null`, ` {} `, `{"cd":"\u00e9\ud83d\ude42\ud800x\udc00\ud800\u0041\/\b\f\n\r\t\"\\"}`,
		`{"CD":"a","Cd_Mount":"b","ſtub":1,"\u212aey":2,"verity":{"root_hash":"x"},"verity":{"device":"y"}}`,
		`{"phases":[{"name":"a","ms":1},{"name":"b"}],"phases":[null,{"ms":2e3}],"phases":[]}`,
		`{"phases":[{"name":"a"},{"name":"b"},{"name":"c"}],"phases":[{"ms":1}],"phases":[null,null]}`,
		`{"params":{"a":"b","c":null},"params":{"d":"e"},"verity":{"device":"x"},"verity":null,"cd":null}`,
		`{"verity_blocks":["a","b"],"verity_blocks":[null],"percent":-0.0e-0,"uptime_s":1E+2,"x":[{"y":[true,false,null,-1.5e3]}]}`,
		`{"cow_bytes":18446744073709551615,"dm_minor":4294967295,"watcher_pid":-9223372036854775808,"size_bytes":1}`,
		`{"cow_bytes":18446744073709551616}`, `{"dm_minor":4294967296}`, `{"cow_bytes":-1}`, `{"cow_bytes":1.0}`,
		`{"cow_bytes":1e2}`, `{"percent":1e400}`, `{"percent":1e-400}`, `{"cd":"a\u12"}`, `{"cd":"\x"}`, `{"cd":"a` + "\x01" + `"}`,
		`{"cd":"` + "\xff\xc3(" + `"}`, `{"cd":1}`, `{"cd_released":"true"}`, `{"params":[]}`, `{"phases":{}}`, `[]`, `"x"`, ``,
		`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul}`, `{"a":1,}`, `{,}`,
		`{"a" 1}`, `{"a":1}}`, `{"a":1} x`, `{"a":[1,]}`, `{"a":[1 2]}`, "\ufeff{}", `{"a":"\u00"}`, `nullx`, `{'a':1}`,
	} {
		agree(t, []byte(s))
	}
}

// FuzzParse: no input makes the decoders panic, and each takes what
// encoding/json takes, no more, no less, with the same value. The seeds
// are encoded random values.
func FuzzParse(f *testing.F) {
	r := rand.New(rand.NewSource(7))
	for range 20 {
		s, u := randState(r), randUsage(r)
		f.Add(s.JSON())
		f.Add(u.JSON())
		f.Add(randNBD(r).JSON())
	}
	f.Add([]byte(`{"phases":[{"name":"a"}],"phases":[null],"CD":"\ud800\u0041","x":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { agree(t, b) })
}

// TestFullSetsEveryField keeps the hand-written JSON complete: full and
// fullUsage must set every field, down through pointers and slices, so
// that a field added to a type but not to the encoder and the decoder
// makes TestJSONIsEncodingJSONs or TestParseReadsWhatIsWritten fail
// (with omitempty, a field left zero would be missing on both sides).
func TestFullSetsEveryField(t *testing.T) {
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if v.IsZero() {
			t.Errorf("%s is zero in the test's full value: set it, and write and read it in encode.go and parse.go", path)
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			walk(path, v.Elem())
		case reflect.Slice:
			walk(path+"[0]", v.Index(0))
		case reflect.Struct:
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		}
	}
	walk("State", reflect.ValueOf(full))
	walk("Usage", reflect.ValueOf(fullUsage))
}
