// Command genoptions writes the files of internal/optionsgen under the repository root given as
// its one argument (default "."). Run it with `go generate ./pool`.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kimberlite/libkimberlite/internal/optionsgen"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	files, err := optionsgen.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genoptions:", err)
		os.Exit(1)
	}
	for path, b := range files {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(path)), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genoptions:", err)
			os.Exit(1)
		}
	}
}
