package limits

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"
)

// Dup is a block of MinDupLines or more non-trivial lines that stands
// again, to the letter (indentation aside), earlier in the repository.
type Dup struct {
	Path       string
	Start, End int // lines of the repeat
	OrigPath   string
	OrigStart  int
	Lines      int // non-trivial lines shared
}

func (d Dup) String() string {
	return fmt.Sprintf("%s:%d-%d repeats %s:%d (%d non-trivial lines; at most %d may repeat)", d.Path, d.Start, d.End, d.OrigPath, d.OrigStart, d.Lines, MinDupLines-1)
}

// trivialLines say nothing of their own: a repeat of them is not a
// repeated block (Go's error handling would make every file repeat
// every other).
var trivialLines = map[string]bool{
	"return": true, "return nil": true, "return err": true, "return nil, err": true, "return false": true, "return true": true,
	"if err != nil {": true, "} else {": true, "else {": true, "default:": true, "continue": true, "break": true,
}

// trivial says whether a trimmed line is punctuation only, a comment, or
// one of trivialLines.
func trivial(s string) bool {
	if strings.HasPrefix(s, "//") || trivialLines[s] {
		return true
	}
	return strings.Trim(s, "{}()[],; ") == ""
}

// codeLine is one non-trivial line: where it is, and its text trimmed.
type codeLine struct {
	n    int
	text string
}

// codeLines are the file's non-trivial lines outside import declarations.
func (f File) codeLines() []codeLine {
	skip := map[int]bool{}
	for _, d := range f.AST.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			for l := f.Fset.Position(g.Pos()).Line; l <= f.Fset.Position(g.End()).Line; l++ {
				skip[l] = true
			}
		}
	}
	var out []codeLine
	for i, l := range strings.Split(string(f.Src), "\n") {
		t := strings.TrimSpace(l)
		if !skip[i+1] && !trivial(t) {
			out = append(out, codeLine{n: i + 1, text: t})
		}
	}
	return out
}

// window is where a run of MinDupLines non-trivial lines was first seen.
type window struct {
	path       string
	start, end int
}

// Duplicates finds every block of MinDupLines or more non-trivial lines
// that repeats, to the letter, a block seen before it (in the files'
// order, or earlier in the same file without overlapping it). Consecutive
// repeated windows are merged into one Dup.
func Duplicates(files []File) []Dup {
	seen := map[string]window{}
	var out []Dup
	for _, f := range files {
		lines := f.codeLines()
		var cur *Dup
		for i := 0; i+MinDupLines <= len(lines); i++ {
			var b strings.Builder
			for _, l := range lines[i : i+MinDupLines] {
				b.WriteString(l.text)
				b.WriteByte('\n')
			}
			key := b.String()
			start, end := lines[i].n, lines[i+MinDupLines-1].n
			w, ok := seen[key]
			if ok && (w.path != f.Path || w.end < start) {
				if cur != nil && cur.End >= start {
					cur.End, cur.Lines = end, cur.Lines+1 // the same block goes on
				} else {
					out = append(out, Dup{Path: f.Path, Start: start, End: end, OrigPath: w.path, OrigStart: w.start, Lines: MinDupLines})
					cur = &out[len(out)-1]
				}
				continue
			}
			if !ok {
				seen[key] = window{path: f.Path, start: start, end: end}
			}
		}
	}
	return out
}
