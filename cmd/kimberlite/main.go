// Command kimberlite runs a Kimberlite-compatible server. Each subcommand lives in its own file
// and registers itself in commands from that file's init.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// version is the build version the binary and its ServerInfo report.
const version = "0.1.0"

// commands maps a subcommand name to its entry point, which gets the arguments after the name
// and returns the exit code. Each command's file adds itself in its init.
var commands = map[string]func(args []string) int{}

// summaries are the one-line descriptions shown by `kimberlite help`.
var summaries = map[string]string{
	"server":  "run a Kimberlite server on one node",
	"dev":     "start a local development cluster",
	"version": "print the version",
	"help":    "show this help, or a command's help with `kimberlite help COMMAND`",
}

func init() {
	commands["version"] = func([]string) int {
		fmt.Printf("kimberlite %s (protocol v5)\n", version)
		return 0
	}
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	helpToStdout(args)
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if cmd, ok := commands[rest[0]]; ok && rest[0] != "version" {
				return cmd([]string{"--help"})
			}
		}
		usage(os.Stdout)
		return 0
	case "--version", "-version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "kimberlite: unknown command %q\n\n", name)
		usage(os.Stderr)
		return 2
	}
	return cmd(rest)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "kimberlite %s: a Kimberlite-compatible database server (wire protocol v5)\n\n", version)
	fmt.Fprintln(w, "usage: kimberlite COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands)+1)
	for n := range commands {
		names = append(names, n)
	}
	names = append(names, "help")
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, summaries[n])
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `kimberlite COMMAND --help` for a command's flags.")
}
