package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"time"
)

// How long one `go list` may take. A package missing from go's build cache is
// compiled by it; past this, the request fails and the kernel falls back.
const goListTimeout = 30 * time.Second

// After this many requests the file set and the imported packages are dropped
// and read again, so a long session's memory stays bounded.
const resetAfter = 2000

// pkgInfo is what we keep of `go list -json` for one package.
type pkgInfo struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
	Error      *struct{ Err string }
}

type server struct {
	goCmd, goroot string
	key           string // dir, modfile and gen of the cached state
	served        int
	fset          *token.FileSet
	pkgs          map[string]*pkgInfo // import path -> go list's answer
	imp           types.Importer      // reads export data; caches what it read
	docs          map[string]docIndex // import path -> docs of its declarations
}

func newServer(goCmd, goroot string) *server {
	s := &server{goCmd: goCmd, goroot: goroot}
	s.reset("")
	return s
}

func (s *server) reset(key string) {
	s.key = key
	s.served = 0
	s.fset = token.NewFileSet()
	s.pkgs = map[string]*pkgInfo{}
	s.docs = map[string]docIndex{}
	s.imp = importer.ForCompiler(s.fset, "gc", s.openExport)
}

func (s *server) openExport(path string) (io.ReadCloser, error) {
	p := s.pkgs[path]
	switch {
	case p == nil:
		return nil, errors.New("not listed: " + path)
	case p.Error != nil && p.Export == "":
		return nil, errors.New(p.Error.Err)
	case p.Export == "":
		return nil, errors.New("no export data for " + path)
	}
	return os.Open(p.Export)
}

// imported reports whether the package's export data could be read: if not,
// go/types declared an empty stand-in, and its members are unknown here.
func (s *server) imported(path string) bool {
	p := s.pkgs[path]
	return path == "unsafe" || (p != nil && p.Export != "")
}

// checked is one request's program, type-checked as far as it goes.
type checked struct {
	server  *server
	pkg     *types.Package
	info    *types.Info
	files   map[string]*ast.File
	file    *ast.File // the file the cursor is in
	tf      *token.File
	src     []byte
	errors  int
	listErr error
}

// check parses and type-checks the request's files, importing what they import.
func (s *server) check(req *Request) (*checked, error) {
	key := req.Dir + "\x00" + req.Modfile + "\x00" + req.Gen
	if key != s.key || s.served >= resetAfter {
		s.reset(key)
	}
	s.served++
	src, ok := req.Files[req.File]
	if !ok {
		return nil, errors.New("no file " + req.File)
	}
	c := &checked{server: s, files: map[string]*ast.File{}, src: []byte(src)}
	names := make([]string, 0, len(req.Files))
	for name := range req.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	var list []*ast.File
	imports := map[string]bool{}
	for _, name := range names {
		// Errors are expected (the cell is being typed): the parser recovers.
		f, _ := parser.ParseFile(s.fset, name, req.Files[name], parser.ParseComments|parser.AllErrors)
		if f == nil {
			continue
		}
		c.files[name] = f
		list = append(list, f)
		for _, spec := range f.Imports {
			if path, err := strconv.Unquote(spec.Path.Value); err == nil {
				imports[path] = true
			}
		}
		if name == req.File {
			c.file = f
			c.tf = s.fset.File(f.Pos())
		}
	}
	if c.file == nil {
		return nil, errors.New("cannot parse " + req.File)
	}
	// Without go list's answer the imports stay unknown, and what the files
	// themselves declare still completes.
	c.listErr = s.list(req, imports)
	c.info = &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Implicits:  map[ast.Node]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Scopes:     map[ast.Node]*types.Scope{},
	}
	conf := types.Config{
		Importer:    s.imp,
		FakeImportC: true,
		Error:       func(error) { c.errors++ },
	}
	c.pkg, _ = conf.Check(list[0].Name.Name, s.fset, list, c.info)
	return c, nil
}

// list asks go, once for every import not seen yet, where its export data is
// (building it into go's cache if needed), with the dependencies of each.
func (s *server) list(req *Request, imports map[string]bool) error {
	var missing []string
	for path := range imports {
		if _, ok := s.pkgs[path]; !ok && path != "unsafe" && path != "C" {
			missing = append(missing, path)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	args := []string{"list", "-e", "-export", "-deps", "-mod=mod",
		"-json=ImportPath,Dir,Export,GoFiles,Error"}
	if req.Modfile != "" {
		args = append(args, "-modfile="+req.Modfile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), goListTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.goCmd, append(args, missing...)...)
	cmd.Dir = req.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		return errors.New("go list: " + err.Error() + ": " + stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := &pkgInfo{}
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return errors.New("go list output: " + err.Error())
		}
		s.pkgs[p.ImportPath] = p
	}
	for _, path := range missing {
		if _, ok := s.pkgs[path]; !ok {
			s.pkgs[path] = &pkgInfo{ImportPath: path, Error: &struct{ Err string }{"not found"}}
		}
	}
	return nil
}
