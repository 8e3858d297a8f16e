package main

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
)

// docIndex holds the doc comments of a package's declarations, found by the
// file and line of the declared name: export data keeps those positions, so
// an object read from it finds its doc in the package's parsed source.
type docIndex struct {
	at_     map[docKey]string
	byName  map[string]string // top-level names (for the builtin package)
	pkgDoc  string
	funcSig map[string]string // builtin functions as builtin.go declares them: "func len(v Type) int"
}

type docKey struct {
	file string // base name
	line int
	name string
}

func (d docIndex) at(file string, line int, name string) string {
	return d.at_[docKey{file, line, name}]
}

// packageDocs parses the package's files once (per session state) for docs.
func (s *server) packageDocs(path string) docIndex {
	if idx, ok := s.docs[path]; ok {
		return idx
	}
	idx := docIndex{}
	if p := s.pkgs[path]; p != nil && p.Dir != "" {
		fset := token.NewFileSet()
		files := map[string]*ast.File{}
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments)
			if err == nil {
				files[name] = f
			}
		}
		idx = indexFiles(fset, files)
	}
	s.docs[path] = idx
	return idx
}

func (s *server) builtinDocs() docIndex {
	const key = "\x00builtin"
	if idx, ok := s.docs[key]; ok {
		return idx
	}
	idx := docIndex{}
	if s.goroot != "" {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, filepath.Join(s.goroot, "src", "builtin", "builtin.go"), nil, parser.ParseComments)
		if err == nil {
			idx = indexFiles(fset, map[string]*ast.File{"builtin.go": f})
			idx.funcSig = funcSignatures(fset, f)
		}
	}
	s.docs[key] = idx
	return idx
}

// funcSignatures are the file's functions declared without body or doc.
func funcSignatures(fset *token.FileSet, f *ast.File) map[string]string {
	sigs := map[string]string{}
	for _, decl := range f.Decls {
		if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil {
			bare := *fd
			bare.Doc, bare.Body = nil, nil
			var b strings.Builder
			if printer.Fprint(&b, fset, &bare) == nil {
				sigs[fd.Name.Name] = b.String()
			}
		}
	}
	return sigs
}

// indexFiles records the doc of every declared name: functions, methods,
// types, constants, variables, struct fields and interface methods.
func indexFiles(fset *token.FileSet, files map[string]*ast.File) docIndex {
	idx := docIndex{at_: map[docKey]string{}, byName: map[string]string{}}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	add := func(id *ast.Ident, docs ...*ast.CommentGroup) {
		text := ""
		for _, d := range docs {
			if d != nil {
				if text = strings.TrimSpace(d.Text()); text != "" {
					break
				}
			}
		}
		if text == "" {
			return
		}
		p := fset.Position(id.Pos())
		idx.at_[docKey{filepath.Base(p.Filename), p.Line, id.Name}] = text
		if _, seen := idx.byName[id.Name]; !seen {
			idx.byName[id.Name] = text
		}
	}
	for _, name := range names {
		f := files[name]
		if f.Doc != nil && idx.pkgDoc == "" && !strings.HasPrefix(f.Name.Name, "main") {
			idx.pkgDoc = strings.TrimSpace(f.Doc.Text())
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				add(d.Name, d.Doc)
			case *ast.GenDecl:
				groupDoc := d.Doc
				if len(d.Specs) > 1 {
					groupDoc = nil // a group's doc is about the group
				}
				for _, spec := range d.Specs {
					indexSpec(spec, groupDoc, add)
				}
			}
		}
	}
	return idx
}

func indexSpec(spec ast.Spec, groupDoc *ast.CommentGroup, add func(*ast.Ident, ...*ast.CommentGroup)) {
	switch sp := spec.(type) {
	case *ast.TypeSpec:
		add(sp.Name, sp.Doc, groupDoc, sp.Comment)
		var fields *ast.FieldList
		switch t := sp.Type.(type) {
		case *ast.StructType:
			fields = t.Fields
		case *ast.InterfaceType:
			fields = t.Methods
		}
		if fields != nil {
			for _, f := range fields.List {
				for _, id := range f.Names {
					add(id, f.Doc, f.Comment)
				}
				if len(f.Names) == 0 { // an embedded field is named by its type
					if id := embeddedName(f.Type); id != nil {
						add(id, f.Doc, f.Comment)
					}
				}
			}
		}
	case *ast.ValueSpec:
		for _, id := range sp.Names {
			add(id, sp.Doc, groupDoc, sp.Comment)
		}
	}
}

func embeddedName(e ast.Expr) *ast.Ident {
	switch t := e.(type) {
	case *ast.Ident:
		return t
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.SelectorExpr:
		return t.Sel
	case *ast.IndexExpr:
		return embeddedName(t.X)
	case *ast.IndexListExpr:
		return embeddedName(t.X)
	}
	return nil
}
