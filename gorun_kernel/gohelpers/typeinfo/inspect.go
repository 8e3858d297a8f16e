package main

import (
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
)

// Hover is what inspection shows: the declaration, its doc, where it is.
type Hover struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Header string `json:"header"`         // "var n int", "func (*strings.Builder).WriteString(s string) (int, error)"
	Doc    string `json:"doc"`            // its doc comment
	Type   string `json:"type,omitempty"` // for a value of a named type: that type's declaration and doc
	File   string `json:"file,omitempty"` // where it is declared, when in the request's files
	Line   int    `json:"line,omitempty"`
	Start  int    `json:"start"` // the identifier's span in the file (bytes)
	End    int    `json:"end"`
}

func (s *server) inspect(req *Request) *Reply {
	c, err := s.check(req)
	if err != nil {
		return &Reply{ID: req.ID, Error: err.Error()}
	}
	reply := &Reply{ID: req.ID, OK: true, Errors: c.errors}
	off := clamp(req.Offset, len(c.src))
	id := c.identAt(c.tf.Pos(off))
	if id == nil {
		return reply
	}
	obj := c.info.Uses[id]
	if obj == nil {
		obj = c.info.Defs[id]
	}
	if obj == nil {
		return reply
	}
	h := &Hover{
		Name:   obj.Name(),
		Kind:   kindOf(obj),
		Header: c.header(obj),
		Doc:    s.docOf(c, obj),
		Start:  c.tf.Offset(id.Pos()),
		End:    c.tf.Offset(id.End()),
	}
	if v, isVar := obj.(*types.Var); isVar {
		h.Type = s.typeNote(c, v.Type())
	}
	if p := obj.Pos(); p.IsValid() && obj.Pkg() == c.pkg {
		where := s.fset.Position(p)
		h.File, h.Line = where.Filename, where.Line
	}
	reply.Hover = h
	return reply
}

// identAt is the identifier at pos (or just before it); failing that, the
// function of the call whose parentheses hold pos, as Shift-Tab in f(|) wants.
func (c *checked) identAt(pos token.Pos) *ast.Ident {
	var found *ast.Ident
	var call *ast.CallExpr
	ast.Inspect(c.file, func(n ast.Node) bool {
		if n == nil || n.Pos() > pos || n.End() < pos {
			return false
		}
		switch e := n.(type) {
		case *ast.Ident:
			found = e
		case *ast.CallExpr:
			if e.Lparen < pos && pos <= e.Rparen {
				call = e
			}
		}
		return true
	})
	if found == nil && call != nil {
		fun := call.Fun
		for {
			p, ok := fun.(*ast.ParenExpr)
			if !ok {
				break
			}
			fun = p.X
		}
		switch f := fun.(type) {
		case *ast.Ident:
			found = f
		case *ast.SelectorExpr:
			found = f.Sel
		case *ast.IndexExpr: // a generic function instantiated explicitly
			if id, ok := f.X.(*ast.Ident); ok {
				found = id
			}
		}
	}
	return found
}

// header is the object's declaration in one line, as `go doc` would write it.
func (c *checked) header(obj types.Object) string {
	q := c.qualifier()
	switch o := obj.(type) {
	case *types.PkgName:
		return "package " + o.Imported().Name() + ` // import "` + o.Imported().Path() + `"`
	case *types.Builtin:
		if sig := c.server.builtinDocs().funcSig[o.Name()]; sig != "" {
			return sig
		}
		return "func " + o.Name()
	case *types.Var:
		if o.IsField() {
			return "field " + o.Name() + " " + types.TypeString(o.Type(), q)
		}
	}
	text := types.ObjectString(obj, q)
	if tn, isType := obj.(*types.TypeName); isType {
		if methods := methodList(tn, c.pkg, q); methods != "" {
			text += "\n" + methods
		}
	}
	return text
}

// methodList: the methods of a named type (value and pointer receivers).
func methodList(tn *types.TypeName, own *types.Package, q types.Qualifier) string {
	named, ok := tn.Type().(*types.Named)
	if !ok || types.IsInterface(named) {
		return ""
	}
	var lines []string
	for i := 0; i < named.NumMethods(); i++ {
		m := named.Method(i)
		if !m.Exported() && m.Pkg() != own {
			continue
		}
		lines = append(lines, "    "+types.ObjectString(m, q))
	}
	return strings.Join(lines, "\n")
}

// typeNote: for a value whose type is named, that type's declaration and doc.
func (s *server) typeNote(c *checked, t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := t.(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return ""
	}
	tn := named.Origin().Obj()
	text := types.ObjectString(tn, c.qualifier())
	if doc := s.docOf(c, tn); doc != "" {
		text += "\n\n" + doc
	}
	return text
}

// docOf finds the doc comment of obj: in the request's files, the package's
// source (from go list's Dir and GoFiles), or GOROOT/src/builtin.
func (s *server) docOf(c *checked, obj types.Object) string {
	if _, isBuiltin := obj.(*types.Builtin); isBuiltin || (obj.Pkg() == nil && obj.Parent() == types.Universe) {
		return s.builtinDocs().byName[obj.Name()]
	}
	if pn, isPkg := obj.(*types.PkgName); isPkg {
		return s.packageDocs(pn.Imported().Path()).pkgDoc
	}
	if obj.Pkg() == nil || !obj.Pos().IsValid() {
		return ""
	}
	where := s.fset.Position(obj.Pos())
	var idx docIndex
	if obj.Pkg() == c.pkg {
		idx = indexFiles(s.fset, c.files)
	} else {
		idx = s.packageDocs(obj.Pkg().Path())
	}
	return idx.at(filepath.Base(where.Filename), where.Line, obj.Name())
}
