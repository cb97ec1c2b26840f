package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kimberlite/libkimberlite/pool"
)

func TestPanicBecomesInternal(t *testing.T) {
	runtime.LockOSThread() // the last error is per OS thread
	defer runtime.UnlockOSThread()
	var nilMap map[string]int
	f := func() (st cStatus) {
		defer recoverPanic(&st)
		nilMap["x"] = 1
		return 0
	}
	st := f()
	code, msg, server, _ := lastError()
	if statusName(int32(st)) != "KMB_ERR_INTERNAL" || code != int32(st) || server != -1 {
		t.Fatalf("panic gave %s (last error %d, server %d)", statusName(int32(st)), code, server)
	}
	if !strings.Contains(msg, "recovered panic") || !strings.Contains(msg, "nil map") {
		t.Errorf("message %q does not explain the panic", msg)
	}
}

func TestLastErrorCarriesServerDetails(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	long := strings.Repeat("é", 2000) // longer than the C buffer: cut on a character boundary
	st := failErr(&pool.Error{Kind: pool.KindServer, ServerCode: 16, Message: "offset mismatch " + long, RequestID: 77})
	code, msg, server, rid := lastError()
	if statusName(int32(st)) != "KMB_ERR_OFFSET_MISMATCH" || code != int32(st) || server != 16 || rid != 77 {
		t.Fatalf("got %s, last error %d server %d request %d", statusName(int32(st)), code, server, rid)
	}
	if !strings.HasPrefix(msg, "kimberlite: OffsetMismatch: offset mismatch é") || len(msg) > 1023 {
		t.Errorf("message %q... (%d bytes)", msg[:40], len(msg))
	}
	if !strings.HasSuffix(msg, "é") {
		t.Errorf("message cut inside a character: ...%q", msg[len(msg)-4:])
	}
}

// TestEveryExportHasAPanicBoundary reads the package source: every //export function must defer
// recoverPanic (or recover, for functions without a status) first, or return straight from a
// helper that does.
func TestEveryExportHasAPanicBoundary(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	guarded := map[string]bool{"withConfig": true, "setMillis": true, "setCount": true, "setString": true, "setBool": true}
	exports := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Doc == nil || !hasExport(fn.Doc) {
				continue
			}
			exports++
			if len(fn.Body.List) == 0 {
				t.Errorf("%s: empty body", fn.Name.Name)
				continue
			}
			switch s := fn.Body.List[0].(type) {
			case *ast.DeferStmt:
				if id, ok := s.Call.Fun.(*ast.Ident); ok && id.Name == "recoverPanic" {
					continue
				}
				if lit, ok := s.Call.Fun.(*ast.FuncLit); ok && strings.Contains(render(fset, lit), "recover()") {
					continue
				}
			case *ast.ReturnStmt:
				if len(fn.Body.List) == 1 && len(s.Results) == 1 {
					if call, ok := s.Results[0].(*ast.CallExpr); ok {
						if id, ok := call.Fun.(*ast.Ident); ok && guarded[id.Name] {
							continue
						}
					}
				}
			}
			t.Errorf("%s (%s): no panic boundary as its first statement", fn.Name.Name, fset.Position(fn.Pos()))
		}
	}
	if exports < 40 {
		t.Fatalf("found only %d exports: the source scan is broken", exports)
	}
}

func hasExport(cg *ast.CommentGroup) bool {
	for _, c := range cg.List {
		if strings.HasPrefix(c.Text, "//export ") {
			return true
		}
	}
	return false
}

func render(fset *token.FileSet, n ast.Node) string {
	var b strings.Builder
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			b.WriteString(id.Name + "()")
		}
		return true
	})
	return b.String()
}
