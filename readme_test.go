package kume_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEExamplesExist checks that every runnable example README.md names
// (as pkg.Example_name, or in a `go test -run Example_name ./pkg` command)
// is a function in that package's test files, so that the command README
// gives finds it.
func TestREADMEExamplesExist(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	type ref struct{ pkg, name string }
	var refs []ref
	for _, m := range regexp.MustCompile("`([a-z0-9]+)\\.(Example[A-Za-z0-9_]*)`").FindAllStringSubmatch(string(readme), -1) {
		refs = append(refs, ref{m[1], m[2]})
	}
	for _, m := range regexp.MustCompile(`go test -run '?\^?(Example[A-Za-z0-9_]*)\$?'? (?:-v )?\./([a-z0-9/]+)`).FindAllStringSubmatch(string(readme), -1) {
		refs = append(refs, ref{m[2], m[1]})
	}
	if len(refs) == 0 {
		t.Fatal("README.md names no runnable example")
	}
	for _, r := range refs {
		dir := r.pkg
		if dir == "kume" {
			dir = "."
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		found := false
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "\nfunc "+r.name+"() {") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README.md names %s.%s, which no test file of ./%s defines", r.pkg, r.name, dir)
		}
	}
	// go doc lists no examples: README must not send readers there for them.
	if regexp.MustCompile("(?i)go doc[^\n]*Example|examples \\(`go doc`").Match(readme) {
		t.Error("README.md points to go doc for examples; go doc does not show examples")
	}
}
