// Package limits measures the house rules on Go source: file length,
// function length, repeated blocks and how many files a type's methods
// are spread over. The repository's own test (limits_test.go) runs it
// over every non-test Go file, so that a feature cannot regrow a
// 470-line file or a 140-line function unseen.
package limits

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The limits of the house rules.
const (
	MaxFileLines = 400
	MaxFuncLines = 80
	MinDupLines  = 6 // non-trivial lines a repeated block must have to count
	MaxTypeFiles = 3 // files a type's methods may be spread over
)

// File is one Go source file: its path (relative to the repository, for
// messages), its text and its parsed syntax.
type File struct {
	Path string
	Src  []byte
	AST  *ast.File
	Fset *token.FileSet
}

// Parse reads and parses one file.
func Parse(root, path string) (File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		rel = path
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
	if err != nil {
		return File{}, err
	}
	return File{Path: rel, Src: src, AST: f, Fset: fset}, nil
}

// SourceFiles parses every non-test .go file under root, skipping
// directories whose names start with "." or "_" and testdata, as the go
// tool does (the cache's kernel trees hold no Go, but .cache is skipped
// all the same).
func SourceFiles(root string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := Parse(root, p)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	return files, err
}

// Lines is the file's line count, as wc -l counts it.
func (f File) Lines() int { return strings.Count(string(f.Src), "\n") }

// Func is a function declaration and its length in lines, from the
// "func" keyword to the closing brace (the house check's count: awk from
// /^func / to /^}/, both lines included).
type Func struct {
	Path  string
	Name  string // Recv.Name for methods
	Line  int
	Lines int
}

func (fn Func) String() string {
	return fmt.Sprintf("%s:%d: func %s is %d lines (limit %d)", fn.Path, fn.Line, fn.Name, fn.Lines, MaxFuncLines)
}

// Funcs are the file's function declarations with their lengths.
func (f File) Funcs() []Func {
	var out []Func
	for _, d := range f.AST.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		start, end := f.Fset.Position(fd.Pos()).Line, f.Fset.Position(fd.End()).Line
		out = append(out, Func{Path: f.Path, Name: funcName(fd), Line: start, Lines: end - start + 1})
	}
	return out
}

func funcName(fd *ast.FuncDecl) string {
	if r := recvType(fd); r != "" {
		return r + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// recvType is the name of a method's receiver type ("" for a function).
func recvType(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr: // a generic receiver T[P]
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// TypeSpread is a type whose methods are declared in more files than
// MaxTypeFiles.
type TypeSpread struct {
	Type  string // dir.Type
	Files []string
}

func (t TypeSpread) String() string {
	return fmt.Sprintf("type %s has methods in %d files (limit %d): %s", t.Type, len(t.Files), MaxTypeFiles, strings.Join(t.Files, ", "))
}

// TypesSpread lists the types with methods in more than MaxTypeFiles
// files of their package (one directory), most files first.
func TypesSpread(files []File) []TypeSpread {
	where := map[string]map[string]bool{}
	for _, f := range files {
		for _, d := range f.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || recvType(fd) == "" {
				continue
			}
			key := filepath.Dir(f.Path) + "." + recvType(fd)
			if where[key] == nil {
				where[key] = map[string]bool{}
			}
			where[key][filepath.Base(f.Path)] = true
		}
	}
	var out []TypeSpread
	for t, fs := range where {
		if len(fs) <= MaxTypeFiles {
			continue
		}
		s := TypeSpread{Type: t}
		for f := range fs {
			s.Files = append(s.Files, f)
		}
		sort.Strings(s.Files)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].Files) != len(out[j].Files) {
			return len(out[i].Files) > len(out[j].Files)
		}
		return out[i].Type < out[j].Type
	})
	return out
}
