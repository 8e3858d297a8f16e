package main

import (
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Candidate is one completion.
type Candidate struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`  // func, var, field, method, type, package, const
	Type  string `json:"type"`  // the signature or type, as Go writes it
	Level int    `json:"level"` // 0 for the innermost scope (or fields), larger further out
}

func (s *server) complete(req *Request) *Reply {
	c, err := s.check(req)
	if err != nil {
		return &Reply{ID: req.ID, Error: err.Error()}
	}
	off := clamp(req.Offset, len(c.src))
	start := identStart(c.src, off)
	reply := &Reply{ID: req.ID, OK: true, Prefix: string(c.src[start:off]), Errors: c.errors}
	pos := c.tf.Pos(off)
	if inCommentOrString(c.file, pos) {
		return reply
	}
	if start > 0 && c.src[start-1] == '.' {
		items, ok := c.selectorMembers(c.tf.Pos(start - 1))
		reply.Items, reply.Unresolved = items, !ok
	} else if fields, keyed, ok := c.literalFields(pos); ok {
		reply.Items = fields
		if !keyed { // positional elements are values: the names in scope too
			for _, it := range c.scopeNames(pos) {
				it.Level++
				reply.Items = append(reply.Items, it)
			}
		}
	} else {
		reply.Items = c.scopeNames(pos)
	}
	reply.Items = filterPrefix(reply.Items, reply.Prefix)
	return reply
}

func clamp(off, n int) int {
	if off < 0 {
		return 0
	}
	if off > n {
		return n
	}
	return off
}

// identStart is where the identifier that ends at off begins.
func identStart(src []byte, off int) int {
	start := off
	for start > 0 {
		r, size := utf8.DecodeLastRune(src[:start])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		start -= size
	}
	return start
}

func inCommentOrString(f *ast.File, pos token.Pos) bool {
	for _, g := range f.Comments {
		if g.Pos() <= pos && pos <= g.End() {
			// A line comment ends at the newline: the cursor after it is code.
			last := g.List[len(g.List)-1]
			if pos < g.End() || strings.HasPrefix(last.Text, "/*") {
				return true
			}
		}
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if found || n == nil || n.Pos() > pos || n.End() < pos {
			return false
		}
		if lit, ok := n.(*ast.BasicLit); ok && (lit.Kind == token.STRING || lit.Kind == token.CHAR) {
			found = lit.Pos() < pos && pos < lit.End()
		}
		return true
	})
	return found
}

// literalFields are the fields of a struct literal not given yet, where the
// cursor at pos may be writing a field's name (`Point{X|`, `Point{X: 1, |`);
// keyed when the literal already has a key. ok is false anywhere else.
func (c *checked) literalFields(pos token.Pos) (items []Candidate, keyed, ok bool) {
	var lit *ast.CompositeLit
	ast.Inspect(c.file, func(n ast.Node) bool {
		if n == nil || n.Pos() > pos || n.End() < pos {
			return false
		}
		if e, isLit := n.(*ast.CompositeLit); isLit && e.Lbrace < pos {
			lit = e // the innermost literal around pos
		}
		return true
	})
	if lit == nil {
		return nil, false, false
	}
	given := map[string]bool{}
	for _, elt := range lit.Elts {
		kv, isKV := elt.(*ast.KeyValueExpr)
		if elt.Pos() <= pos && pos <= elt.End() {
			_, isIdent := elt.(*ast.Ident)
			if !isIdent && !(isKV && pos <= kv.Key.End()) {
				return nil, false, false // in an element's value
			}
			continue
		}
		if isKV {
			keyed = true
			if id, isIdent := kv.Key.(*ast.Ident); isIdent {
				given[id.Name] = true
			}
		}
	}
	t := c.info.Types[lit].Type
	if t == nil && lit.Type != nil {
		t = c.info.Types[lit.Type].Type
	}
	if t == nil {
		return nil, false, false
	}
	if p, isPtr := t.Underlying().(*types.Pointer); isPtr { // an elided &T
		t = p.Elem()
	}
	st, isStruct := t.Underlying().(*types.Struct)
	if !isStruct {
		return nil, false, false
	}
	for i := 0; i < st.NumFields(); i++ {
		f := st.Field(i)
		if !given[f.Name()] && (f.Exported() || f.Pkg() == c.pkg) {
			items = append(items, c.candidate(f, 0))
		}
	}
	return items, keyed, true
}

// selectorMembers are the names that may follow X. where the dot is at dot:
// a package's exports, a value's fields and methods, a type's methods.
// ok is false when X has no type (an unknown name).
func (c *checked) selectorMembers(dot token.Pos) (items []Candidate, ok bool) {
	var sel *ast.SelectorExpr
	ast.Inspect(c.file, func(n ast.Node) bool {
		if sel != nil || n == nil || n.Pos() > dot || n.End() < dot {
			return false
		}
		if e, isSel := n.(*ast.SelectorExpr); isSel && e.X.End() == dot {
			sel = e
		}
		return true
	})
	if sel == nil {
		return nil, false
	}
	if id, isIdent := sel.X.(*ast.Ident); isIdent {
		if pn, isPkg := c.info.Uses[id].(*types.PkgName); isPkg {
			if !c.server.imported(pn.Imported().Path()) {
				return nil, false // the kernel may still know its exports
			}
			return c.packageMembers(pn.Imported()), true
		}
	}
	tv, found := c.info.Types[sel.X]
	if !found || tv.Type == nil || tv.Type == types.Typ[types.Invalid] {
		return nil, false
	}
	return c.typeMembers(tv.Type, tv.IsType()), true
}

func (c *checked) packageMembers(pkg *types.Package) []Candidate {
	var items []Candidate
	for _, name := range pkg.Scope().Names() {
		obj := pkg.Scope().Lookup(name)
		if obj.Exported() {
			items = append(items, c.candidate(obj, 0))
		}
	}
	return items
}

// typeMembers: for a value, its fields and the methods callable on it (an
// addressable value may call pointer methods too); for a type, its methods.
func (c *checked) typeMembers(t types.Type, isType bool) []Candidate {
	seen := map[string]bool{}
	var items []Candidate
	add := func(name string, level int) {
		if seen[name] {
			return
		}
		seen[name] = true
		obj, _, _ := types.LookupFieldOrMethod(t, !isType, c.pkg, name)
		if obj != nil {
			items = append(items, c.candidate(obj, level))
		}
	}
	lookup := t
	if tp, isParam := t.(*types.TypeParam); isParam {
		lookup = tp.Constraint()
	}
	if !isType {
		for _, f := range fieldNames(lookup) {
			add(f.name, f.depth)
		}
	}
	msets := []*types.MethodSet{types.NewMethodSet(lookup)}
	if _, isPtr := lookup.(*types.Pointer); !isPtr && !types.IsInterface(lookup) && !isType {
		msets = append(msets, types.NewMethodSet(types.NewPointer(lookup)))
	}
	for _, ms := range msets {
		for i := 0; i < ms.Len(); i++ {
			add(ms.At(i).Obj().Name(), len(ms.At(i).Index()))
		}
	}
	return items
}

type fieldName struct {
	name  string
	depth int
}

// fieldNames lists the fields of a struct (through a pointer), with those
// promoted from embedded fields, shallowest first.
func fieldNames(t types.Type) []fieldName {
	var out []fieldName
	seen := map[*types.Named]bool{}
	var walk func(t types.Type, depth int)
	walk = func(t types.Type, depth int) {
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			if seen[n] || depth > 8 {
				return
			}
			seen[n] = true
		}
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			return
		}
		for i := 0; i < st.NumFields(); i++ {
			f := st.Field(i)
			out = append(out, fieldName{f.Name(), depth})
			if f.Embedded() {
				walk(f.Type(), depth+1)
			}
		}
	}
	walk(t, 0)
	sort.SliceStable(out, func(i, j int) bool { return out[i].depth < out[j].depth })
	return out
}

// scopeNames are the names visible at pos, innermost scope first; locals
// declared after pos are not yet in scope.
func (c *checked) scopeNames(pos token.Pos) []Candidate {
	scope := c.pkg.Scope().Innermost(pos)
	if scope == nil {
		scope = c.info.Scopes[c.file]
	}
	if scope == nil {
		scope = c.pkg.Scope()
	}
	seen := map[string]bool{}
	var items []Candidate
	for level := 0; scope != nil; level, scope = level+1, scope.Parent() {
		local := scope != c.pkg.Scope() && scope != types.Universe && scope.Parent() != c.pkg.Scope()
		for _, name := range scope.Names() {
			obj := scope.Lookup(name)
			if seen[name] || name == "_" || (local && obj.Pos() > pos) {
				continue
			}
			seen[name] = true
			items = append(items, c.candidate(obj, level))
		}
	}
	return items
}

func filterPrefix(items []Candidate, prefix string) []Candidate {
	out := items[:0]
	for _, it := range items {
		if strings.HasPrefix(it.Name, prefix) {
			out = append(out, it)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level < out[j].Level
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// candidate describes an object for a completion menu.
func (c *checked) candidate(obj types.Object, level int) Candidate {
	cand := Candidate{Name: obj.Name(), Kind: kindOf(obj), Level: level}
	q := c.qualifier()
	switch o := obj.(type) {
	case *types.PkgName:
		cand.Type = o.Imported().Path()
	case *types.TypeName:
		cand.Type = types.TypeString(o.Type().Underlying(), q)
		if _, isStruct := o.Type().Underlying().(*types.Struct); isStruct {
			cand.Type = "struct{...}"
		} else if types.IsInterface(o.Type()) && o.Type() != o.Type().Underlying() {
			cand.Type = "interface{...}"
		}
	case *types.Builtin:
		cand.Type = "func" + strings.TrimPrefix(c.server.builtinDocs().funcSig[o.Name()], "func "+o.Name())
	case *types.Nil:
		cand.Type = "untyped nil"
	case *types.Const:
		cand.Type = types.TypeString(o.Type(), q) + " = " + shorten(o.Val().String(), 40)
	default:
		cand.Type = types.TypeString(obj.Type(), q)
	}
	return cand
}

func kindOf(obj types.Object) string {
	switch o := obj.(type) {
	case *types.Func:
		if sig, ok := o.Type().(*types.Signature); ok && sig.Recv() != nil {
			return "method"
		}
		return "func"
	case *types.Builtin:
		return "func"
	case *types.Var:
		if o.IsField() {
			return "field"
		}
		return "var"
	case *types.TypeName:
		return "type"
	case *types.PkgName:
		return "package"
	case *types.Const:
		return "const"
	case *types.Label:
		return "label"
	}
	return "var" // nil
}

// qualifier writes other packages by name, and the cell's own without one.
func (c *checked) qualifier() types.Qualifier {
	return func(p *types.Package) string {
		if p == c.pkg {
			return ""
		}
		return p.Name()
	}
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
